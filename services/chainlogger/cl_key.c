/*
 * cl_key — where the signing key comes from: a file readable only by its
 * owner (like ssh refuses a world-readable private key), or the PRIVATE_KEY
 * environment variable. The key is never logged; error messages name only
 * the file.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cl.h"
#include "base/log.h"

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
        if (st.st_mode & (S_IRWXG | S_IRWXO)) {
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
        log_error("key_missing reason=\"set KEY_FILE or PRIVATE_KEY\"");
    }
out:
    explicit_bzero(buf, sizeof buf);
    if (fd >= 0)
        close(fd);
    return rc;
}
