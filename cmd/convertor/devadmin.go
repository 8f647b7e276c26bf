package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/openai-api-convertor/convertor/adminapi"
	"github.com/openai-api-convertor/convertor/adminapi/auth"
	"github.com/openai-api-convertor/convertor/internal/devstack"
	"github.com/openai-api-convertor/convertor/internal/envvar"
	"github.com/openai-api-convertor/convertor/internal/stores"
)

// startDevAdmin serves the admin API over the stack's stores. Unless
// ADMIN_AUTH says otherwise it uses token mode with a token generated once
// and kept in the data folder, so the API is never open, not even on a
// developer's machine.
func startDevAdmin(ctx context.Context, env *environment, dcfg devConfig, st *stores.Stores, info *devInfo, stack *cleanups) error {
	r := envvar.New(env.getenv)
	mode, token := r.String("ADMIN_AUTH", ""), r.String("ADMIN_TOKEN", "")
	getenv := env.getenv
	if mode == "" {
		mode = string(auth.ModeToken)
		if token == "" {
			var err error
			if token, err = devAdminToken(dcfg.DataDir); err != nil {
				return err
			}
			info.AdminTokenFile = filepath.Join(dcfg.DataDir, devAdminTokenFile)
		}
		getenv = devEnv(env.getenv, map[string]string{"ADMIN_AUTH": mode, "ADMIN_TOKEN": token})
	}
	ln, fellBack, err := devstack.Listen(dcfg.AdminAddr, dcfg.AdminFallback)
	if err != nil {
		return fmt.Errorf("admin API (ADMIN_ADDR): %w", err)
	}
	if fellBack {
		env.log.Warn("admin API address taken, using another", "addr", dcfg.AdminAddr, "listen", ln.Addr().String())
	}
	addr := ln.Addr().String()
	// The address it really listens on: ADMIN_AUTH=none checks that it is
	// loopback.
	cfg, err := adminapi.LoadConfig(func(k string) string {
		if k == "ADMIN_ADDR" {
			return addr
		}
		return getenv(k)
	})
	if err != nil {
		ln.Close()
		return err
	}
	info.AdminURL = "http://" + displayAddr(addr)
	info.AdminAuth = mode
	if mode == string(auth.ModeToken) {
		info.AdminToken = cfg.Auth.Token
	}
	actx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan error, 1)
	go func() {
		err := adminapi.Serve(actx, ln, cfg, adminDeps(st), env.log.With("service", "adminapi"))
		if err != nil && actx.Err() == nil {
			stack.fail(fmt.Errorf("admin API: %w", err))
		}
		done <- err
	}()
	stack.push(func() error { cancel(); <-done; return nil })
	return nil
}

// devAdminToken returns the admin token kept in dir, creating it on first
// use.
func devAdminToken(dir string) (string, error) {
	path := filepath.Join(dir, devAdminTokenFile)
	b, err := os.ReadFile(path)
	if t := strings.TrimSpace(string(b)); err == nil && len(t) >= auth.MinTokenLength {
		return t, nil
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("read development admin token: %w", err)
	}
	token := "adm-dev-" + randomBase62(40)
	if err := os.WriteFile(path, []byte(token+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("write development admin token: %w", err)
	}
	return token, nil
}
