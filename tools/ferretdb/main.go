// Command ferretdb is a tiny wrapper around FerretDB v1's embeddable package
// (github.com/FerretDB/FerretDB/ferretdb). It gives inferd's tests a real
// MongoDB-wire server backed by SQLite files, with no external database.
//
// Why a wrapper instead of `go install .../cmd/ferretdb@v1.24.2`: that binary
// panics at start because its generated build/version/version.txt is absent
// from the module zip. The version check only runs when the main module is
// FerretDB itself, so embedding the package in our own module avoids it.
//
// Telemetry: the embedded mode never creates the telemetry reporter and
// explicitly disables and locks telemetry in its in-memory state (no
// state.json is written anywhere); DO_NOT_TRACK is set too, belt and braces.
//
// Auth: the embedded Config has no auth fields, so SCRAM (the new auth) is
// off. Drivers sending SCRAM get "Unsupported authentication mechanism";
// PLAIN is accepted with any username/password on the SQLite backend.
// With -auth-user (or MONGO_INITDB_ROOT_USERNAME and _PASSWORD in the
// environment, as the mongo image reads them), auth.go answers SCRAM itself
// in front of FerretDB and requires it, as a MongoDB with a root user does.
//
// Usage: ferretdb -listen-addr 127.0.0.1:27018 -sqlite-dir /tmp/fdb [-log-level warn]
//
//	[-auth-user NAME -auth-password PASSWORD]
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	listenAddr := flag.String("listen-addr", "127.0.0.1:27017", "TCP address to listen on (host:port)")
	sqliteDir := flag.String("sqlite-dir", "", "directory for SQLite database files (created if missing; required)")
	logLevel := flag.String("log-level", "warn", "log level: debug, info, warn or error")
	authUser := flag.String("auth-user", os.Getenv("MONGO_INITDB_ROOT_USERNAME"),
		"require SCRAM authentication as this user (default $MONGO_INITDB_ROOT_USERNAME)")
	authPassword := flag.String("auth-password", os.Getenv("MONGO_INITDB_ROOT_PASSWORD"),
		"the user's password (default $MONGO_INITDB_ROOT_PASSWORD)")
	flag.Parse()

	if err := run(*listenAddr, *sqliteDir, *logLevel, *authUser, *authPassword); err != nil {
		fmt.Fprintln(os.Stderr, "ferretdb:", err)
		os.Exit(1)
	}
}

func run(listenAddr, sqliteDir, logLevel, authUser, authPassword string) error {
	if sqliteDir == "" {
		return fmt.Errorf("-sqlite-dir is required")
	}

	var level slog.Level
	if err := level.UnmarshalText([]byte(logLevel)); err != nil {
		return fmt.Errorf("bad -log-level: %w", err)
	}

	// Belt and braces: telemetry is already off in embedded mode.
	os.Setenv("DO_NOT_TRACK", "1")
	os.Setenv("FERRETDB_TELEMETRY", "disable")

	// The SQLite backend wants an existing directory and a "file:" URI whose
	// path ends with "/"; each MongoDB database becomes one .sqlite file there.
	dir, err := filepath.Abs(sqliteDir)
	if err != nil {
		return err
	}
	if err = os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	sqliteURL := (&url.URL{Scheme: "file", Path: dir + "/", OmitHost: true}).String()

	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	// With a user, clients reach FerretDB only through the SCRAM front (auth.go), which
	// listens on listenAddr; FerretDB itself on a free loopback port.
	var front net.Listener
	ferretAddr := listenAddr
	if authUser != "" {
		if front, err = net.Listen("tcp", listenAddr); err != nil {
			return err
		}
		defer front.Close()
		if ferretAddr, err = freeLoopbackAddr(); err != nil {
			return err
		}
	}

	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: ferretAddr},
		Logger:    logger,
		Handler:   "sqlite",
		SQLiteURL: sqliteURL,
	})
	if err != nil {
		return err
	}

	// Stop cleanly (closing SQLite files) on SIGINT/SIGTERM.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	if front != nil {
		auth, err := newAuthFront(authUser, authPassword, ferretAddr, logger)
		if err != nil {
			return err
		}
		go auth.serve(front)
		go func() { <-ctx.Done(); front.Close() }()
	}

	// New() has already bound the port, so tests may connect once this prints.
	fmt.Fprintf(os.Stderr, "ferretdb: listening on %s, data in %s\n", listenAddr, dir)

	return f.Run(ctx)
}

// freeLoopbackAddr is a loopback address with a port free at the time of the call.
func freeLoopbackAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}
