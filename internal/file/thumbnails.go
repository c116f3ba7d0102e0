package file

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	_ "image/gif" // decoders for thumbnails
	"image/jpeg"
	_ "image/png"
	"io"
	"time"
)

// Thumbnail sizes: the longest side in pixels.
var ThumbSizes = map[string]int{"small": 64, "medium": 360, "large": 720}

// maxPixels bounds what the worker decodes (a 100-megapixel image is a
// bomb, not a photo to preview).
const maxPixels = 50_000_000

var thumbable = map[string]bool{"image/png": true, "image/jpeg": true, "image/gif": true}

// RunThumbnails makes thumbnails of pending images, once each (leased
// claims, so several nodes may run it), and returns how many it made.
func (s *Service) RunThumbnails(ctx context.Context) (int, error) {
	now := s.now()
	ids, err := s.ids(ctx, "SELECT id FROM files WHERE thumbs = 'pending' AND thumbs_claimed_ms < ? AND deleted_ms = 0 LIMIT 10", now.UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("file: pending thumbnails: %w", err)
	}
	done := 0
	for _, id := range ids {
		res, err := s.DB.ExecContext(ctx, "UPDATE files SET thumbs_claimed_ms = ? WHERE id = ? AND thumbs = 'pending' AND thumbs_claimed_ms < ?",
			now.Add(time.Minute).UnixMilli(), id, now.UnixMilli())
		if err != nil {
			return done, err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			continue
		}
		status, w, h := "done", 0, 0
		if w, h, err = s.thumbnail(ctx, id); err != nil {
			s.Log.InfoContext(ctx, "thumbnail_failed", "file", id, "error", err)
			status = "failed"
		}
		if _, err := s.DB.ExecContext(ctx, "UPDATE files SET thumbs = ?, width = ?, height = ? WHERE id = ?", status, w, h, id); err != nil {
			return done, err
		}
		if status == "done" {
			done++
		}
	}
	return done, nil
}

// ids runs a query of one text column and returns its values.
func (s *Service) ids(ctx context.Context, query string, args ...any) ([]string, error) {
	rows, err := s.DB.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

func (s *Service) thumbnail(ctx context.Context, id string) (int, int, error) {
	f, key, err := s.load(ctx, id)
	if err != nil {
		return 0, 0, err
	}
	rc, err := s.Storage.Open(ctx, key)
	if err != nil {
		return 0, 0, err
	}
	data, err := io.ReadAll(io.LimitReader(rc, f.Size+1))
	rc.Close()
	if err != nil {
		return 0, 0, err
	}
	cfg, _, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return 0, 0, fmt.Errorf("not a readable image: %w", err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width*cfg.Height > maxPixels {
		return 0, 0, fmt.Errorf("image of %d×%d is too large to preview", cfg.Width, cfg.Height)
	}
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return 0, 0, fmt.Errorf("decode: %w", err)
	}
	for name, side := range ThumbSizes {
		var buf bytes.Buffer
		if err := jpeg.Encode(&buf, scale(img, side), &jpeg.Options{Quality: 82}); err != nil {
			return 0, 0, err
		}
		if err := s.Storage.Put(ctx, key+"-"+name, &buf); err != nil {
			return 0, 0, err
		}
	}
	return cfg.Width, cfg.Height, nil
}

// scale shrinks img so its longest side is at most side, averaging the
// source pixels under each target pixel (a box filter: good enough for
// previews, and only the standard library). Images already small enough
// are copied; transparent parts go on white, as JPEG has no alpha.
func scale(img image.Image, side int) image.Image {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	tw, th := w, h
	if w > side || h > side {
		if w >= h {
			tw, th = side, max(1, h*side/w)
		} else {
			tw, th = max(1, w*side/h), side
		}
	}
	out := image.NewRGBA(image.Rect(0, 0, tw, th))
	for y := 0; y < th; y++ {
		y0, y1 := b.Min.Y+y*h/th, b.Min.Y+max((y+1)*h/th, y*h/th+1)
		for x := 0; x < tw; x++ {
			x0, x1 := b.Min.X+x*w/tw, b.Min.X+max((x+1)*w/tw, x*w/tw+1)
			var r, g, bl, n uint64
			for sy := y0; sy < y1; sy++ {
				for sx := x0; sx < x1; sx++ {
					cr, cg, cb, ca := img.At(sx, sy).RGBA()
					// Composite over white.
					r += uint64(cr + (0xffff - ca))
					g += uint64(cg + (0xffff - ca))
					bl += uint64(cb + (0xffff - ca))
					n++
				}
			}
			out.Set(x, y, color.RGBA64{R: uint16(r / n), G: uint16(g / n), B: uint16(bl / n), A: 0xffff})
		}
	}
	return out
}
