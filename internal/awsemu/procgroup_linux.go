package awsemu

import (
	"os/exec"
	"syscall"
)

// OwnProcessGroup makes c the leader of a process group of its own, so
// that KillProcessGroup ends it with every child it starts (dynalite is a
// Node.js launcher script; a function binary may fork), and has the
// kernel kill it should luxncp itself be killed (SIGKILL leaves no
// cleanup to run).
func OwnProcessGroup(c *exec.Cmd) {
	if c.SysProcAttr == nil {
		c.SysProcAttr = &syscall.SysProcAttr{}
	}
	c.SysProcAttr.Setpgid = true
	c.SysProcAttr.Pdeathsig = syscall.SIGKILL
}

// KillProcessGroup kills the process group OwnProcessGroup gave c
// (by its id, never by name).
func KillProcessGroup(c *exec.Cmd) {
	if c.Process == nil {
		return
	}
	if err := syscall.Kill(-c.Process.Pid, syscall.SIGKILL); err != nil {
		_ = c.Process.Kill()
	}
}
