package main

import "runtime"

func numCPU() int { return runtime.NumCPU() }

func gomaxprocs() int { return runtime.GOMAXPROCS(0) }
