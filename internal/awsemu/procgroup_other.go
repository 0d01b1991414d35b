//go:build !unix

package awsemu

import "os/exec"

// OwnProcessGroup does nothing where there are no process groups.
func OwnProcessGroup(*exec.Cmd) {}

// KillProcessGroup kills c's process.
func KillProcessGroup(c *exec.Cmd) {
	if c.Process != nil {
		_ = c.Process.Kill()
	}
}
