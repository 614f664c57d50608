# Tokenboard — the two front doors are `make run` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := run

DATA_DIR ?= data
export TOKENBOARD_DATABASE_URL ?= sqlite://$(DATA_DIR)/tokenboard.db
export TOKENBOARD_DATA_DIR ?= $(DATA_DIR)
export TOKENBOARD_ADDR ?= 127.0.0.1:3000

.PHONY: run test setup setup-test build build-debug test-rust test-e2e lint fmt

## Set up, build, seed the demo organisation when the database is empty, serve.
run: setup build
	./target/release/tokenboard migrate
	./target/release/tokenboard demo --if-empty
	@echo
	@echo "  Tokenboard: http://$(TOKENBOARD_ADDR)"
	@echo "  Log in as admin@demo.tokenboard / tokenboard-demo"
	@echo
	./target/release/tokenboard serve

## Set up and run every test: unit, database (SQLite and PostgreSQL), end-to-end in Chromium.
test: setup-test test-rust test-e2e

setup:
	./.ci/setup

setup-test:
	./.ci/setup --test

# RUST_BACKTRACE=0: a failing build's message, not a backtrace, ends the log.
# .ci/build-site does what `cargo leptos build --release --precompress --split`
# (or, with --debug, `cargo leptos build --split`) does without compiling
# cargo-leptos first.
build:
	RUST_BACKTRACE=0 ./.ci/build-site

build-debug:
	RUST_BACKTRACE=0 ./.ci/build-site --debug

test-rust:
	cargo test --workspace

test-e2e: build-debug
	cd end2end && TOKENBOARD_BIN=../target/debug/tokenboard npx playwright test

lint:
	cargo fmt --all --check
	cargo clippy --workspace --all-targets -- -D warnings
	cargo clippy -p app --features hydrate --target wasm32-unknown-unknown -- -D warnings

fmt:
	cargo fmt --all
