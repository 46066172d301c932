package main

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/minikv-go/minikv/api"
	"github.com/minikv-go/minikv/s3"
	"github.com/minikv-go/minikv/s3/sigv4"
	"github.com/minikv-go/minikv/s3/store"
	"github.com/minikv-go/minikv/server"
)

// s3Door is the S3 API of a node: its listener, and the garbage collector
// the leader runs over the objects' data.
type s3Door struct {
	srv  *http.Server
	stop chan struct{}
	done chan struct{}
}

// startS3 serves the S3 API on cfg.Listen.S3 (nil if it is off).
func startS3(node *server.Node, metrics *api.Metrics, log *slog.Logger) (*s3Door, net.Addr, error) {
	cfg := node.Config()
	if cfg.Listen.S3 == "" {
		return nil, nil, nil
	}
	if cfg.S3.AccessKey == server.DefaultS3AccessKey && cfg.S3.SecretKey == server.DefaultS3SecretKey {
		log.Warn("the S3 API uses the default credentials, which anyone can read in config.example.toml; set s3.access_key and s3.secret_key",
			"access_key", cfg.S3.AccessKey)
	}
	ln, err := net.Listen("tcp", cfg.Listen.S3)
	if err != nil {
		return nil, nil, err
	}
	// A chunk is one kv value in one command: it must fit both limits.
	chunk := min(node.Limits().MaxValueBytes, store.DefaultChunkSize, node.Limits().MaxCommandBytes/2)
	st := store.New(node.Internal(), store.Options{ChunkSize: chunk})
	v := &sigv4.Verifier{
		Creds:  sigv4.StaticCredentials{cfg.S3.AccessKey: cfg.S3.SecretKey},
		Region: cfg.S3.Region,
		Now:    time.Now,
	}
	d := &s3Door{
		srv: &http.Server{
			Handler:           s3.New(node, st, v, s3.Options{Domain: cfg.S3.Domain, Logger: log, Metrics: metrics}),
			ReadHeaderTimeout: 10 * time.Second,
			IdleTimeout:       2 * time.Minute,
		},
		stop: make(chan struct{}),
		done: make(chan struct{}),
	}
	go func() {
		if err := d.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("s3 server", "err", err)
		}
	}()
	go d.collect(node, st, log)
	return d, ln.Addr(), nil
}

// collect deletes the data of replaced, deleted and abandoned objects and
// uploads, on the leader, once a minute.
func (d *s3Door) collect(node *server.Node, st *store.Store, log *slog.Logger) {
	defer close(d.done)
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-d.stop:
			return
		case <-t.C:
		}
		if node.Status().Role != "leader" {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		n, err := st.CollectGarbage(ctx)
		cancel()
		switch {
		case err != nil:
			log.Warn("s3 garbage collection", "err", err)
		case n > 0:
			log.Info("s3 garbage collection", "chunks_deleted", n)
		}
	}
}

// shutdown stops accepting, lets requests in flight finish, and stops the
// collector.
func (d *s3Door) shutdown(ctx context.Context) error {
	if d == nil {
		return nil
	}
	close(d.stop)
	err := d.srv.Shutdown(ctx)
	<-d.done
	return err
}
