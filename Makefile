# weft's front door. Every target installs what it needs from Debian's packages first.
# See CONTRIBUTING.md for what each target does.

BUILD      ?= build
FUZZ_BUILD ?= build-fuzz
ASAN_BUILD ?= build-asan
JOBS       ?= $(shell nproc)
WEFT       := $(BUILD)/weft
FUZZ_SECONDS ?= 60

BUILD_DEPS := g++ cmake ninja-build pkg-config libyaml-dev nlohmann-json3-dev libsqlite3-dev \
              libssl-dev libcli11-dev libfmt-dev libgtest-dev libgmock-dev libbenchmark-dev \
              libboost-dev libeigen3-dev libcpp-httplib-dev libarchive-dev libicu-dev
FUZZ_DEPS  := clang-16 libclang-rt-16-dev
TEST_DEPS  := python3 python3-sklearn python3-pandas python3-yaml python3-venv bash bubblewrap \
              python3-pytest python3-jsonschema slurm-wlm munge chromium chromium-headless-shell
DEMO_DEPS  := $(TEST_DEPS)
BENCH_DEPS := ninja-build snakemake time strace wrk hey bc
SLOW_DEPS  := podman runc debootstrap
FORMAT_DEPS := clang-format

.PHONY: all deps fuzz-deps test-deps demo-deps configure build test test-one slow sanitize fuzz fuzz-long fuzz-build bench \
        demo format format-check clean

all: build

# Node.js and npm build the web UI: Debian's, unless a node with its npm is here already (a
# NodeSource nodejs bundles npm, and Debian's npm package would conflict with it).
deps:
	@tools/install-deps $(BUILD_DEPS)
	@command -v npm >/dev/null 2>&1 || tools/install-deps nodejs npm

fuzz-deps:
	@tools/install-deps $(FUZZ_DEPS)

test-deps:
	@tools/install-deps $(TEST_DEPS)

demo-deps:
	@tools/install-deps $(DEMO_DEPS)

# Line tables only (-g1): backtraces and debuggers still name files and lines, and the build takes
# a third less time than with full debug information (-DCMAKE_BUILD_TYPE=Debug for that).
$(BUILD)/build.ninja:
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DWEFT_UI=ON \
	  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG" -DCMAKE_EXPORT_COMPILE_COMMANDS=ON
	ln -sf $(BUILD)/compile_commands.json compile_commands.json

configure: deps $(BUILD)/build.ninja

build: configure
	cmake --build $(BUILD) -j $(JOBS)

# Every test: unit tests, end-to-end tests of the binary, the unit tests again under ASan and
# UBSan, and a compile of the fuzz target.
# Each phase is timed (tools/timed), so that CI shows where its minutes go.
test:
	@tools/timed "install packages" $(MAKE) --no-print-directory deps test-deps fuzz-deps
	@tools/timed "build" $(MAKE) --no-print-directory build
	@tools/timed "build fuzz targets" $(MAKE) --no-print-directory fuzz-build
	@tools/timed "tests" sh -c 'cd $(BUILD) && ctest --output-on-failure -j $(JOBS) -LE slow'
	@tools/timed "unit tests under ASan+UBSan" $(MAKE) --no-print-directory sanitize

$(ASAN_BUILD)/build.ninja:
	cmake -S . -B $(ASAN_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-g1" -DWEFT_PCH=ON \
	  -DCMAKE_CXX_FLAGS="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer" \
	  -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined"

# The unit tests built with AddressSanitizer and UndefinedBehaviorSanitizer.
sanitize: deps test-deps $(ASAN_BUILD)/build.ninja
	cmake --build $(ASAN_BUILD) -j $(JOBS) --target weft_unit_tests
	tools/sharded $(JOBS) $(ASAN_BUILD)/weft_unit_tests --gtest_brief=1

# One test (GoogleTest filter), for example: make test-one T='Yaml11*'
test-one: build
	$(BUILD)/weft_unit_tests --gtest_filter='$(T)'

# The slow tier: fuzzing for FUZZ_SECONDS plus every test labelled slow.
slow: build fuzz test-deps
	@tools/install-deps $(SLOW_DEPS)
	cd $(BUILD) && ctest --output-on-failure -L slow

$(FUZZ_BUILD)/build.ninja:
	CC=clang-16 CXX=clang++-16 cmake -S . -B $(FUZZ_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DWEFT_FUZZ=ON

fuzz-build: fuzz-deps deps $(FUZZ_BUILD)/build.ninja
	cmake --build $(FUZZ_BUILD) -j $(JOBS) --target weft_loader_fuzz

# The long fuzzing run of the slow tier: ten minutes, under ASan and UBSan (leaks included).
fuzz-long:
	$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=600

fuzz: fuzz-build
	mkdir -p $(FUZZ_BUILD)/corpus
	cp -n fuzz/seeds/* $(FUZZ_BUILD)/corpus/ 2>/dev/null || true
	$(FUZZ_BUILD)/weft_loader_fuzz -max_total_time=$(FUZZ_SECONDS) -max_len=65536 -rss_limit_mb=2048 \
	  -timeout=10 -dict=fuzz/yaml.dict $(FUZZ_BUILD)/corpus

bench: build test-deps
	@tools/install-deps $(SLOW_DEPS)
	@tools/install-deps $(BENCH_DEPS)
	bench/run $(BUILD)

demo: build demo-deps
	examples/demo

format: deps
	@tools/install-deps $(FORMAT_DEPS)
	git ls-files '*.cc' '*.h' | xargs clang-format -i

format-check: deps
	@tools/install-deps $(FORMAT_DEPS)
	git ls-files '*.cc' '*.h' | xargs clang-format --dry-run --Werror

clean:
	rm -rf $(BUILD) $(FUZZ_BUILD) $(ASAN_BUILD) compile_commands.json
