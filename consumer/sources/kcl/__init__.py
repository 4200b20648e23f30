"""The KCL multi-language path: sluice as the per-shard child of the MultiLangDaemon.

`processor` feeds the same pipeline as the polling reader, `child` is the process the
daemon starts per shard (stdout carries the protocol only), `properties` writes the
daemon's configuration from the pipeline file, `cli` runs the daemon.
"""
