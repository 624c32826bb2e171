package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
)

// memory is a process's resident memory from /proc/<pid>/status, in KiB
// (the kernel's "kB").
type memory struct {
	rss int64 // VmRSS: resident now
	hwm int64 // VmHWM: peak resident since start (or since the last reset through clear_refs)
}

// readMemory reads the resident memory of process pid (Linux only).
func readMemory(pid int) (memory, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return memory{}, fmt.Errorf("read memory of pid %d: %w", pid, err)
	}
	m, err := parseStatus(bytes.NewReader(b))
	if err != nil {
		return memory{}, fmt.Errorf("read memory of pid %d: %w", pid, err)
	}
	return m, nil
}

// parseStatus extracts VmRSS and VmHWM from the text of /proc/<pid>/status.
func parseStatus(r io.Reader) (memory, error) {
	var m memory
	var seenRSS, seenHWM bool
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		key, value, ok := strings.Cut(sc.Text(), ":")
		if !ok || (key != "VmRSS" && key != "VmHWM") {
			continue
		}
		fields := strings.Fields(value)
		if len(fields) != 2 || fields[1] != "kB" {
			return m, fmt.Errorf("unexpected %s line %q", key, sc.Text())
		}
		n, err := strconv.ParseInt(fields[0], 10, 64)
		if err != nil {
			return m, fmt.Errorf("parse %s: %w", key, err)
		}
		if key == "VmRSS" {
			m.rss, seenRSS = n, true
		} else {
			m.hwm, seenHWM = n, true
		}
	}
	if err := sc.Err(); err != nil {
		return m, fmt.Errorf("scan status: %w", err)
	}
	if !seenRSS || !seenHWM {
		return m, errors.New("no VmRSS/VmHWM lines (a kernel thread, or not Linux?)")
	}
	return m, nil
}

// sampleRSS reads the VmRSS of process pid every interval from the time
// since until ctx ends, then sends the largest value seen (KiB; 0 if no
// read succeeded) on the returned channel. Unlike VmHWM, it covers only
// the sampled period.
func sampleRSS(ctx context.Context, pid int, interval time.Duration, since time.Time) <-chan int64 {
	peak := make(chan int64, 1)
	go func() {
		var most int64
		defer func() { peak <- most }()
		if !pause(ctx, time.Until(since)) {
			return
		}
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			if m, err := readMemory(pid); err == nil {
				most = max(most, m.rss)
			}
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	return peak
}

// mib formats KiB as MiB.
func mib(kib int64) string { return fmt.Sprintf("%.1f MiB", float64(kib)/1024) }
