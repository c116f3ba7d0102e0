package s3test

import "syscall"

// sysProcAttr makes the server die with the test binary, even one that
// crashed or timed out before its cleanups ran.
func sysProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} }
