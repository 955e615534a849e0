// SPDX-License-Identifier: Apache-2.0

// Package gen holds the bpf2go output for bpf/seccomptrace.bpf.c (the
// probes, Seccomp*) and bpf/inventory.bpf.c (the filter inventory's task
// iterator, Inventory*): the compiled ELFs and the Go types of their maps,
// programs and records. The files are committed so that `go build` needs no clang;
// `make generate` rebuilds them and CI checks they are up to date.
package gen

//go:generate go tool bpf2go -go-package gen -target amd64,arm64 -cc ${BPF_CLANG} -cflags ${BPF_CFLAGS} -type st_decision -type st_chain -type st_filter_free -type st_silent_key -type st_count_key -type silent_mark -type st_emission -type st_record_kind -type st_flags -type st_counter -type st_filter -type st_sysctl -type st_audit_drop -type st_drop_stage -type st_task_info -type st_task_gone -type st_sync -type st_sync_ret Seccomp ../bpf/seccomptrace.bpf.c -- -I../bpf -I../bpf/include -I../bpf/include/vmlinux
//go:generate go tool bpf2go -go-package gen -target amd64,arm64 -cc ${BPF_CLANG} -cflags ${BPF_CFLAGS} -type st_inv_task -type st_inv_ref -type st_inv_filter -type st_inv_flags -type st_inv_filter_flags -type st_inv_magic Inventory ../bpf/inventory.bpf.c -- -I../bpf -I../bpf/include -I../bpf/include/vmlinux
