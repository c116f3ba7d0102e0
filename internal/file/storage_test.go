package file_test

import (
	"testing"

	"github.com/quikapp/quikapp/internal/file"
	"github.com/quikapp/quikapp/internal/file/s3test"
	"github.com/quikapp/quikapp/internal/file/storagetest"
)

func TestLocalFileStorageConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) file.Storage { return file.Local{Dir: t.TempDir()} })
}

// The S3 driver against a real MinIO server, a bucket per case.
func TestS3FileStorageConformance(t *testing.T) {
	srv := s3test.Start(t)
	storagetest.Run(t, func(t *testing.T) file.Storage {
		s, err := file.NewS3(srv.Config(s3test.Bucket()))
		if err != nil {
			t.Fatal(err)
		}
		if err := s.EnsureBucket(t.Context()); err != nil {
			t.Fatal(err)
		}
		return s
	})
}
