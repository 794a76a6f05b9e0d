.PHONY: demo test bench
demo:
	bash scripts/demo.sh
test:
	bash scripts/test.sh
bench:
	for b in benchmarks/bench_*.py; do .venv/bin/python $$b || exit 1; done
