package vpptest

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// DirEnv names the environment variable that points at a VPP runtime
// (a directory with bin/vpp, bin/vppctl, bin/vpp_get_stats, lib/).
const DirEnv = "VPPSTATS_VPP_DIR"

// modulePath is the module whose root the default runtime sits beside.
const modulePath = "github.com/vppstats/vppstats"

// defaultRel is the runtime's place relative to the repository root.
const defaultRel = "../shared/vpp/v26.06"

// Dir returns the VPP runtime directory: $VPPSTATS_VPP_DIR when set, else
// <repository root>/../shared/vpp/v26.06. It checks that bin/vpp is there.
func Dir() (string, error) {
	dir := os.Getenv(DirEnv)
	if dir == "" {
		root, err := repoRoot()
		if err != nil {
			return "", fmt.Errorf("cannot find the VPP runtime: %w; set %s to a VPP runtime directory", err, DirEnv)
		}
		dir = filepath.Join(root, defaultRel)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(filepath.Join(abs, "bin", "vpp")); err != nil {
		return "", fmt.Errorf("no VPP runtime at %s (%w): put one there or set %s", abs, err, DirEnv)
	}
	return abs, nil
}

// repoRoot finds the root of this module: from the working directory (go
// test runs in the package's directory), else from this source file.
func repoRoot() (string, error) {
	var starts []string
	if wd, err := os.Getwd(); err == nil {
		starts = append(starts, wd)
	}
	if _, file, _, ok := runtime.Caller(0); ok {
		starts = append(starts, filepath.Dir(file))
	}
	for _, start := range starts {
		for dir := start; ; dir = filepath.Dir(dir) {
			if isModuleRoot(dir) {
				return dir, nil
			}
			if filepath.Dir(dir) == dir {
				break
			}
		}
	}
	return "", errors.New("no go.mod of " + modulePath + " above the working directory")
}

func isModuleRoot(dir string) bool {
	f, err := os.Open(filepath.Join(dir, "go.mod"))
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); strings.HasPrefix(line, "module ") {
			return strings.TrimSpace(strings.TrimPrefix(line, "module ")) == modulePath
		}
	}
	return false
}
