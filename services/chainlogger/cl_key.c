/*
 * cl_key — where the signing key comes from: a file readable only by its
 * owner (like ssh refuses a world-readable private key), a Docker secret
 * (/run/secrets/<name>: mounted read-only into this container alone, so its
 * mode is not ours to set), or the PRIVATE_KEY environment variable. The
 * key is never logged; error messages name only the file.
 *
 * Development keys: Ganache's deterministic accounts (mnemonic "myth like
 * bonus scare over problem client lizard pioneer submit female collect")
 * and Anvil's / Hardhat's ("test test ... test junk"), accounts 0-9, are
 * public. Anyone can sign with them, so they are refused on every chain but
 * the development ones (1337, 31337). The addresses below are what Ganache
 * 7 prints for both mnemonics (m/44'/60'/0'/0/i).
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cl.h"
#include "base/log.h"

static const char *const dev_addresses[] = {
    /* Ganache --wallet.deterministic */
    "0x90f8bf6a479f320ead074411a4b0e7944ea8c9c1",
    "0xffcf8fdee72ac11b5c542428b35eef5769c409f0",
    "0x22d491bde2303f2f43325b2108d26f1eaba1e32b",
    "0xe11ba2b4d45eaed5996cd0823791e0c93114882d",
    "0xd03ea8624c8c5987235048901fb614fdca89b117",
    "0x95ced938f7991cd0dfcb48f0a06a40fa1af46ebc",
    "0x3e5e9111ae8eb78fe1cc3bb8915d5d461f3ef9a9",
    "0x28a8746e75304c0780e011bed21c72cd78cd535e",
    "0xaca94ef8bd5ffee41947b4585a84bda5a3d3da6e",
    "0x1df62f291b2e969fb0849d99d9ce41e2f137006e",
    /* Anvil / Hardhat default mnemonic */
    "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266",
    "0x70997970c51812dc3a010c7d01b50e0d17dc79c8",
    "0x3c44cdddb6a900fa2b585dd299e03d12fa4293bc",
    "0x90f79bf6eb2c4f870365e785982e1f101e93b906",
    "0x15d34aaf54267db7d7c367839aaf71a00a2c6a65",
    "0x9965507d1a55bcc2695c58ba16fb37d819b0a4dc",
    "0x976ea74026e726554db657fa54763abd0c3a0aa9",
    "0x14dc79964da2c08b23698b3d3cc7ca32193d9955",
    "0x23618e81e3f5cdf7f54c3d65f7fbc0abf5b21e8f",
    "0xa0ee7a142d267c1f36714e4a8f75612f20a79720",
};

int cl_key_is_dev(const tx_key *k)
{
    char a[43];
    tx_key_address_hex(k, a);
    for (size_t i = 0; i < sizeof dev_addresses / sizeof dev_addresses[0]; i++)
        if (strcmp(a, dev_addresses[i]) == 0)
            return 1;
    return 0;
}

int cl_key_check_chain(const tx_key *k, long chain_id)
{
    if (chain_id == 1337 || chain_id == 31337 || !cl_key_is_dev(k))
        return 0;
    char a[43];
    tx_key_address_hex(k, a);
    log_error("key_refused reason=development_key address=%s chain_id=%ld msg=\"this is a "
              "well-known Ganache/Anvil development account whose private key is public; use "
              "your own key (PRIVATE_KEY_FILE) on any chain but 1337/31337\"",
              a, chain_id);
    return -1;
}

int cl_key_load(tx_key **out, const char *key_file, const char *env_key)
{
    char buf[256];
    struct stat st;
    int rc = -1, fd = -1;
    ssize_t n;

    *out = NULL;
    if (key_file && *key_file) {
        fd = open(key_file, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            log_error("key_file_unreadable file=%s errno=%d error=\"%s\"", key_file, errno,
                      strerror(errno));
            return -1;
        }
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
            log_error("key_file_invalid file=%s", key_file);
            goto out;
        }
        if ((st.st_mode & (S_IRWXG | S_IRWXO)) && strncmp(key_file, "/run/secrets/", 13) != 0) {
            log_error("key_file_permissions file=%s mode=%03o reason=\"group/world accessible; "
                      "chmod 600\"",
                      key_file, (unsigned)(st.st_mode & 0777));
            goto out;
        }
        n = read(fd, buf, sizeof buf - 1);
        if (n <= 0) {
            log_error("key_file_empty file=%s", key_file);
            goto out;
        }
        buf[n] = 0;
        if (tx_key_from_hex(out, buf) < 0) {
            log_error("key_invalid source=file file=%s", key_file);
            goto out;
        }
        rc = 0;
    } else if (env_key && *env_key) {
        if (tx_key_from_hex(out, env_key) < 0) {
            log_error("key_invalid source=env");
            goto out;
        }
        rc = 0;
    } else {
        log_error("key_missing reason=\"set PRIVATE_KEY_FILE (or KEY_FILE) or PRIVATE_KEY\"");
    }
out:
    explicit_bzero(buf, sizeof buf);
    if (fd >= 0)
        close(fd);
    return rc;
}
