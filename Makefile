# Thin wrapper over CMake/CTest and the scripts (see README.md).
BUILD      ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
JOBS       ?= 2
LISTEN     ?= 127.0.0.1:1026
DATA       ?= var

.PHONY: all build deps run test quick asan fuzz fuzz-replay bench format format-check lint clean

all: build

build:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build $(BUILD) -j$(JOBS)

deps:
	bash scripts/install-deps.sh build

run: deps build
	$(BUILD)/polis --listen $(LISTEN) --data $(DATA) --contexts data/contexts/preload --demo data/demo

# Everything CI runs: unit tests, fuzz-corpus replay and API tests, on a normal build and on an
# ASan+UBSan build.
test:
	bash scripts/test.sh

quick: build
	cd $(BUILD) && ctest -L unit --output-on-failure

asan:
	bash scripts/test.sh --asan-only

fuzz:
	bash scripts/install-deps.sh fuzz
	CC=clang cmake -S . -B $(FUZZ_BUILD) -DPOLIS_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build $(FUZZ_BUILD) -j$(JOBS)
	bash scripts/fuzz.sh $(FUZZ_BUILD) $${FUZZ_SECONDS:-60}

fuzz-replay: build
	cd $(BUILD) && ctest -L fuzz --output-on-failure

bench:
	bash scripts/install-deps.sh bench
	bash bench/entities
	bash bench/query/run
	bash bench/notify/run
	bash bench/temporal/run

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

format-check:
	clang-format --dry-run --Werror $$(git ls-files '*.c' '*.h')

lint:
	@! git grep -nE '\b(strcpy|strcat|sprintf|gets|strtok|atoi|atol)\(' -- 'src/*.c' || \
	  (echo "banned function used (see STYLE)"; exit 1)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
