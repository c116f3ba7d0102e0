package file

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/s3utils"
)

// S3Config says where an S3-compatible store (AWS S3, MinIO, …) is.
type S3Config struct {
	Endpoint  string // host or host:port, no scheme
	Bucket    string
	AccessKey string
	SecretKey string // never printed
	Region    string
	TLS       bool
}

// String shows the configuration without its secret.
func (c S3Config) String() string {
	secret := "(empty)"
	if c.SecretKey != "" {
		secret = "(set, hidden)"
	}
	return fmt.Sprintf("{Endpoint:%s Bucket:%s AccessKey:%s SecretKey:%s Region:%s TLS:%t}", c.Endpoint, c.Bucket, c.AccessKey, secret, c.Region, c.TLS)
}

// GoString is String, so %#v hides the secret too.
func (c S3Config) GoString() string { return "file.S3Config" + c.String() }

// CheckBucketName says why name cannot be an S3 bucket, or nil.
func CheckBucketName(name string) error { return s3utils.CheckValidBucketNameStrict(name) }

// S3 stores files as objects of one bucket. Uploads stream in parts of
// s3PartSize, so memory stays bounded whatever a file's size, and an
// upload that fails is aborted: S3 shows an object only once it is whole.
type S3 struct {
	client *minio.Client
	bucket string
	region string
}

// s3PartSize is the multipart part size: S3's minimum is 5 MiB, and 10,000
// parts of 8 MiB (78 GiB) are more than the largest upload allowed.
const s3PartSize = 8 << 20

// partBufs holds the buffers that tell a one-request upload from a
// multipart one.
var partBufs = sync.Pool{New: func() any { b := make([]byte, s3PartSize); return &b }}

// NewS3 returns the driver; it does not contact the store (EnsureBucket
// does, at start).
func NewS3(c S3Config) (*S3, error) {
	if err := CheckBucketName(c.Bucket); err != nil {
		return nil, fmt.Errorf("file: s3 bucket: %w", err)
	}
	cl, err := minio.New(c.Endpoint, &minio.Options{
		Creds:  credentials.NewStaticV4(c.AccessKey, c.SecretKey, ""),
		Secure: c.TLS,
		Region: c.Region, // known, so signing never asks the store where the bucket is
	})
	if err != nil {
		return nil, fmt.Errorf("file: s3 endpoint: %w", err)
	}
	return &S3{client: cl, bucket: c.Bucket, region: c.Region}, nil
}

// EnsureBucket creates the bucket unless it exists.
func (s *S3) EnsureBucket(ctx context.Context) error {
	ok, err := s.client.BucketExists(ctx, s.bucket)
	if err != nil {
		return fmt.Errorf("file: s3 bucket %s: %w", s.bucket, err)
	}
	if ok {
		return nil
	}
	err = s.client.MakeBucket(ctx, s.bucket, minio.MakeBucketOptions{Region: s.region})
	if code := minio.ToErrorResponse(err).Code; code == "BucketAlreadyOwnedByYou" || code == "BucketAlreadyExists" {
		return nil // another node made it first
	}
	if err != nil {
		return fmt.Errorf("file: s3 make bucket %s: %w", s.bucket, err)
	}
	return nil
}

// Ping checks that the store answers and the bucket is there (readiness).
func (s *S3) Ping(ctx context.Context) error {
	ok, err := s.client.BucketExists(ctx, s.bucket)
	if err != nil {
		return fmt.Errorf("file: s3: %w", err)
	}
	if !ok {
		return fmt.Errorf("file: s3 bucket %s is gone", s.bucket)
	}
	return nil
}

// sourceReader watches ctx and keeps the source's own errors apart from
// the end of the data: a client cut off mid-upload makes a multipart
// reader fail with io.ErrUnexpectedEOF, which the S3 client would take for
// a short last part and so store half a file.
type sourceReader struct {
	ctx context.Context
	r   io.Reader
}

type sourceError struct{ err error }

func (e *sourceError) Error() string { return "file: reading the upload: " + e.err.Error() }
func (e *sourceError) Unwrap() error { return e.err }

func (s sourceReader) Read(p []byte) (int, error) {
	if err := s.ctx.Err(); err != nil {
		return 0, &sourceError{err}
	}
	n, err := s.r.Read(p)
	if err != nil && err != io.EOF {
		err = &sourceError{err}
	}
	return n, err
}

// Put uploads r: in one request when it fits a part, else in parts.
func (s *S3) Put(ctx context.Context, key string, r io.Reader) error {
	if err := checkKey(key); err != nil {
		return err
	}
	src := sourceReader{ctx, r}
	bp := partBufs.Get().(*[]byte)
	defer partBufs.Put(bp)
	buf := *bp
	n, err := io.ReadFull(src, buf)
	body, size := io.Reader(bytes.NewReader(buf[:n])), int64(n)
	switch {
	case err == io.EOF || err == io.ErrUnexpectedEOF: // ReadFull's own (unwrapped): r ended within one part
	case err != nil:
		return fmt.Errorf("file: store: %w", err)
	default: // more to come: stream it in parts
		body, size = io.MultiReader(body, src), -1
	}
	_, err = s.client.PutObject(ctx, s.bucket, key, body, size, minio.PutObjectOptions{
		PartSize: s3PartSize, ContentType: "application/octet-stream"})
	if err != nil {
		return fmt.Errorf("file: store: %w", err)
	}
	return nil
}

// Open reads key (the request is made here, so a missing key says so now).
func (s *S3) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	if err := checkKey(key); err != nil {
		return nil, err
	}
	obj, err := s.client.GetObject(ctx, s.bucket, key, minio.GetObjectOptions{})
	if err == nil {
		_, err = obj.Stat()
	}
	if err != nil {
		if obj != nil {
			obj.Close()
		}
		return nil, s3Err("open", err)
	}
	return obj, nil
}

// Stat returns key's size.
func (s *S3) Stat(ctx context.Context, key string) (int64, error) {
	if err := checkKey(key); err != nil {
		return 0, err
	}
	info, err := s.client.StatObject(ctx, s.bucket, key, minio.StatObjectOptions{})
	if err != nil {
		return 0, s3Err("stat", err)
	}
	return info.Size, nil
}

// Delete removes key (S3 answers the same for a key that holds nothing).
func (s *S3) Delete(ctx context.Context, key string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	if err := s.client.RemoveObject(ctx, s.bucket, key, minio.RemoveObjectOptions{}); err != nil {
		return s3Err("delete", err)
	}
	return nil
}

func s3Err(op string, err error) error {
	if minio.ToErrorResponse(err).Code == minio.NoSuchKey {
		return ErrNoObject
	}
	return fmt.Errorf("file: s3 %s: %w", op, err)
}

// PresignPut signs a PUT of exactly size bytes to key, valid for ttl. The
// signature covers Content-Length, so no other size is accepted, and
// If-None-Match: *, so the object cannot be replaced once it is there
// (after its type was checked, say) even while the URL is still valid.
func (s *S3) PresignPut(ctx context.Context, key string, size int64, ttl time.Duration) (Presigned, error) {
	if err := checkKey(key); err != nil {
		return Presigned{}, err
	}
	h := http.Header{}
	h.Set("Content-Length", strconv.FormatInt(size, 10))
	h.Set("If-None-Match", "*")
	u, err := s.client.PresignHeader(ctx, http.MethodPut, s.bucket, key, ttl, nil, h)
	if err != nil {
		return Presigned{}, fmt.Errorf("file: s3 presign: %w", err)
	}
	// Content-Length is not listed: clients set it from the body (browsers
	// refuse to be told).
	return Presigned{URL: u.String(), Method: http.MethodPut, Headers: map[string]string{"If-None-Match": "*"}}, nil
}
