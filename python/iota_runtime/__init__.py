"""iota's Python rule runtime: the worker process, the event object and rule loading.

The Rust side starts `iota_runtime.worker.main()` in each rule worker; the contract between
the two is docs/WORKER_PROTOCOL.md.
"""
