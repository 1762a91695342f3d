# roost — developer commands. `make run` starts the broker; `make test` installs what the tests
# need (when missing) and runs every test.

CARGO        ?= cargo
FUZZ_TARGETS := decode_v3 decode_v5 roundtrip
FUZZ_SECONDS ?= 60
SMOKE_SECONDS ?= 20
TARGET_TRIPLE := x86_64-unknown-linux-gnu

.PHONY: run build test test-deps unit fuzz-smoke fuzz fuzz-deps static bench-codec bench bench-quick clean

run:
	$(CARGO) run --release --bin roost

build:
	$(CARGO) build --release

test: test-deps unit fuzz-smoke

# Installs the tests' peers when missing. Nothing here is needed at run time.
test-deps:
	@./scripts/test-deps.sh

unit:
	$(CARGO) test --all-targets

fuzz-deps:
	@./scripts/fuzz-deps.sh

# Fuzz targets run from fuzz/corpus/<target> (git-ignored, grows) plus the committed seeds in
# fuzz/seeds/<target>; new inputs go to the first directory only.
# A short run of every fuzz target (about $(SMOKE_SECONDS) s each). In CI a missing nightly is
# an error; elsewhere the smoke is skipped with a message.
fuzz-smoke:
	@if ./scripts/fuzz-deps.sh; then \
	  for t in $(FUZZ_TARGETS); do \
	    mkdir -p fuzz/corpus/$$t; \
	    $(CARGO) +nightly fuzz run $$t fuzz/corpus/$$t fuzz/seeds/$$t -- \
	      -max_total_time=$(SMOKE_SECONDS) -rss_limit_mb=1024 || exit 1; \
	  done; \
	else \
	  if [ "$$CI" = "true" ]; then echo "fuzz smoke: nightly or cargo-fuzz missing in CI"; exit 1; fi; \
	  echo "fuzz smoke skipped: nightly toolchain or cargo-fuzz unavailable"; \
	fi

fuzz: fuzz-deps
	@for t in $(FUZZ_TARGETS); do \
	  mkdir -p fuzz/corpus/$$t; \
	  $(CARGO) +nightly fuzz run $$t fuzz/corpus/$$t fuzz/seeds/$$t -- \
	    -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=1024 || exit 1; \
	done

static:
	RUSTFLAGS="-C target-feature=+crt-static" $(CARGO) build --release --target $(TARGET_TRIPLE)
	@f=target/$(TARGET_TRIPLE)/release/roost; \
	  echo "static binary: $$f"; \
	  ls -l $$f | awk '{printf "size: %d bytes (%.2f MiB)\n", $$5, $$5/1048576}'; \
	  (file $$f 2>/dev/null || true)

bench-codec:
	$(CARGO) bench --bench codec

# Load benchmark against roost, Mosquitto and rumqttd (scripts/bench.sh; about 25 minutes with
# ROUNDS=3). bench-quick is one round with 3 s windows.
ROUNDS ?= 3
bench:
	@ROUNDS=$(ROUNDS) CARGO="$(CARGO)" ./scripts/bench.sh

bench-quick:
	@ROUNDS=1 WARMUP=1 DURATION=3 CARGO="$(CARGO)" ./scripts/bench.sh

clean:
	$(CARGO) clean
