package sqlstore_test

import (
	"testing"

	"github.com/quikapp/quikapp/internal/notify/notifytest"
	"github.com/quikapp/quikapp/internal/store/storetest"
)

// BenchmarkPersist measures the persist path of one Notify fan-out step
// (benchmark S6): CreateNotification of a new row, then UpdateStatus to
// delivered.
func BenchmarkPersist(b *testing.B) {
	for _, driver := range storetest.Drivers {
		b.Run(driver, func(b *testing.B) { notifytest.BenchPersist(b, newStore(b, driver)) })
	}
}

// BenchmarkPersistParallel is BenchmarkPersist from GOMAXPROCS goroutines.
func BenchmarkPersistParallel(b *testing.B) {
	for _, driver := range storetest.Drivers {
		b.Run(driver, func(b *testing.B) { notifytest.BenchPersistParallel(b, newStore(b, driver)) })
	}
}
