// SPDX-License-Identifier: Apache-2.0

package main

import (
	"github.com/seccomptrace/seccomptrace/observer/sysnames"
	"github.com/seccomptrace/seccomptrace/observer/workload"
)

// getpgrpName is what the output calls the workloads' getpgrp calls:
// "getpgrp", or "getpgid" on arm64, which has no getpgrp.
var getpgrpName = sysnames.Name(sysnames.Native, workload.NrGetpgrp)

// nativeArch is what the output calls this machine's native arch:
// "x86_64" or "aarch64".
var nativeArch = sysnames.ArchName(sysnames.Native)
