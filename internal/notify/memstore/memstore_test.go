package memstore_test

import (
	"testing"

	"github.com/quikapp/quikapp/internal/notify"
	"github.com/quikapp/quikapp/internal/notify/memstore"
	"github.com/quikapp/quikapp/internal/notify/notifytest"
)

func TestConformance(t *testing.T) {
	notifytest.Run(t, func(*testing.T) notify.Store { return memstore.New() })
}

// BenchmarkPersist measures CreateNotification + UpdateStatus (benchmark S6).
func BenchmarkPersist(b *testing.B) { notifytest.BenchPersist(b, memstore.New()) }

// BenchmarkPersistParallel is BenchmarkPersist from GOMAXPROCS goroutines.
func BenchmarkPersistParallel(b *testing.B) { notifytest.BenchPersistParallel(b, memstore.New()) }
