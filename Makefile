# Top-level build. Conventions (no need to edit this file to add code):
#   common/*/*.c               -> build/libcommon.a (every service and test links it)
#   services/<svc>/*.c         -> build/bin/<svc>  (main.c holds main(); the other
#                                 files are also linked into unit tests, so their
#                                 public names must carry a service-specific prefix)
#   tests/unit/test_<x>.c      -> build/tests/test_<x> (cmocka), also built with
#                                 ASan/UBSan under build/asan/
#   contracts/*.sol            -> contracts/build/<Name>.json (abi + bytecode, solc from npm)
CC       ?= cc
BUILD    ?= build
OPT      ?= -O2
CFLAGS   ?= $(OPT) -g
CFLAGS   += -std=gnu11 -Wall -Wextra -Werror -Icommon -MMD -MP
LDLIBS   += -lpaho-mqtt3as -lmosquitto -ljansson -lcurl -lcrypto -lwebsockets -lsecp256k1 -lpthread -lm
SAN      := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

SERVICES := simulator detector chainlogger gateway notifier
COMMON_SRC := $(wildcard common/*/*.c)
SVC_LIB_SRC := $(filter-out %/main.c,$(foreach s,$(SERVICES),$(wildcard services/$(s)/*.c)))
UNIT_SRC := $(wildcard tests/unit/test_*.c)

define objs
$(patsubst %.c,$(1)/obj/%.o,$(2))
endef

COMMON_OBJ := $(call objs,$(BUILD),$(COMMON_SRC))
BINS := $(addprefix $(BUILD)/bin/,$(SERVICES))
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
ASAN_DIR := $(BUILD)/asan
ASAN_COMMON_OBJ := $(call objs,$(ASAN_DIR),$(COMMON_SRC))
ASAN_UNIT_BINS := $(patsubst tests/unit/%.c,$(ASAN_DIR)/tests/%,$(UNIT_SRC))
CONTRACTS := $(patsubst contracts/%.sol,contracts/build/%.json,$(wildcard contracts/*.sol))

.PHONY: all deps run run-cluster test test-compose unit unit-asan services-asan bench soak fuzz clean format contracts faults FORCE
all: $(BINS) $(CONTRACTS)

# The version every binary prints for --version (common/base/version.h):
# only version.c sees it, and $(BUILD)/version.txt changes only when it
# does, so a new commit recompiles one file and relinks.
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo unknown)
$(BUILD)/version.txt: FORCE
	@mkdir -p $(dir $@)
	@echo '$(VERSION)' | cmp -s - $@ || echo '$(VERSION)' >$@
$(BUILD)/obj/common/base/version.o $(ASAN_DIR)/obj/common/base/version.o: $(BUILD)/version.txt
$(BUILD)/obj/common/base/version.o $(ASAN_DIR)/obj/common/base/version.o: \
	CFLAGS += -DIOTAD_VERSION='"$(VERSION)"'

# The gateway's OpenAPI document is embedded by the assembler (.incbin in
# services/gateway/gw_openapi.c), which the -MMD dependencies do not see.
$(BUILD)/obj/services/gateway/gw_openapi.o $(ASAN_DIR)/obj/services/gateway/gw_openapi.o: \
	services/gateway/openapi.json

deps:
	scripts/install-deps.sh

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(ASAN_DIR)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -O1 $(SAN) -c $< -o $@

$(BUILD)/libcommon.a: $(COMMON_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(ASAN_DIR)/libcommon.a: $(ASAN_COMMON_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

# One binary per service: its own objects plus the common library.
define service_rule
$(BUILD)/bin/$(1): $(call objs,$(BUILD),$(wildcard services/$(1)/*.c)) $(BUILD)/libcommon.a
	@mkdir -p $$(dir $$@)
	$$(CC) $$(CFLAGS) -o $$@ $$(filter %.o %.a,$$^) $$(LDLIBS)
endef
$(foreach s,$(SERVICES),$(eval $(call service_rule,$(s))))

# The same services under ASan/UBSan, for integration tests (tests/integration/e2e_asan.sh).
define service_asan_rule
$(ASAN_DIR)/bin/$(1): $(call objs,$(ASAN_DIR),$(wildcard services/$(1)/*.c)) $(ASAN_DIR)/libcommon.a
	@mkdir -p $$(dir $$@)
	$$(CC) $$(CFLAGS) -O1 $$(SAN) -o $$@ $$(filter %.o %.a,$$^) $$(LDLIBS)
endef
$(foreach s,$(SERVICES),$(eval $(call service_asan_rule,$(s))))
ASAN_BINS := $(addprefix $(ASAN_DIR)/bin/,$(SERVICES))
services-asan: $(ASAN_BINS)

$(BUILD)/tests/%: tests/unit/%.c $(call objs,$(BUILD),$(SVC_LIB_SRC)) $(BUILD)/libcommon.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/unit -Iservices -o $@ $(filter %.c %.o %.a,$^) -lcmocka $(LDLIBS)

$(ASAN_DIR)/tests/%: tests/unit/%.c $(call objs,$(ASAN_DIR),$(SVC_LIB_SRC)) $(ASAN_DIR)/libcommon.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -O1 $(SAN) -Itests/unit -Iservices -o $@ $(filter %.c %.o %.a,$^) -lcmocka $(LDLIBS)

contracts: $(CONTRACTS)
contracts/build/%.json: contracts/%.sol scripts/compile-contract.js
	@mkdir -p $(dir $@)
	node scripts/compile-contract.js $< $@

unit: $(UNIT_BINS)
unit-asan: $(ASAN_UNIT_BINS)

# The README's two commands.
run:
	scripts/run.sh

test:
	scripts/install-deps.sh --test
	$(MAKE) -j$$(nproc) all unit unit-asan services-asan
	tests/run.sh

# The Compose stack for real (tests/compose/up.sh): image build, up, health,
# a device's reading to an on-chain anomaly, down and up with the state kept.
# The first run on a machine builds a base image (debootstrap) and the image.
test-compose:
	scripts/install-deps.sh --test
	SUITE=compose TEST_TIMEOUT=2700 tests/run.sh

# The MQTT client libraries as consumers (bench/mqtt_consumer.sh).
$(BUILD)/bench/mqtt_consumer: bench/mqtt_consumer.c $(BUILD)/libcommon.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $(filter %.c %.a,$^) $(LDLIBS)

bench:
	scripts/install-deps.sh --test
	$(MAKE) -j$$(nproc) all $(BUILD)/bench/mqtt_consumer
	bench/run.sh

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

fuzz:
	scripts/fuzz.sh

faults:
	tests/integration/faults.sh

soak:
	scripts/soak.sh

run-cluster:
	scripts/run-cluster.sh
