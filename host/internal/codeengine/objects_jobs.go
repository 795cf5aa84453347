package codeengine

import (
	"strconv"
	"strings"

	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/host/internal/qr"
)

// ObjectsOption configures NewObjects.
type ObjectsOption func(*Objects)

// WithJobs lets pre-issue submit batch image jobs to jobs (the host's
// qr.Jobs, whose routes serve their progress and zips). Without it a
// pre-issue asking for images answers UnsupportedOperation.
func WithJobs(jobs *qr.Jobs) ObjectsOption {
	return func(o *Objects) { o.jobs = jobs }
}

// BatchImages asks a pre-issue to draw the batch's images in a background
// job (qr.Jobs): one image per code, holding its URL, named by its unified
// number.
type BatchImages struct {
	Format     string `json:"format" validate:"omitempty,oneof=png svg" doc:"png (default) or svg"`
	ModuleSize int    `json:"moduleSize" validate:"min=0,max=40" doc:"pixels per module (default 8), as the image routes' moduleSize"`
	Level      string `json:"level" validate:"omitempty,oneof=L M Q H" doc:"error correction (default M)"`
	Caption    string `json:"caption" validate:"max=200" doc:"drawn under every image (at most 100 characters); {number} stands for the code's unified number"`
}

// numberMark in a caption stands for each code's unified number.
const numberMark = "{number}"

// sampleNumber has the length of every unified number: a caption checked
// with it is checked for every code.
const sampleNumber = "000000000"

func (b *BatchImages) style() qr.Style {
	s := qr.Style{Format: b.Format, Level: b.Level, ModulePx: b.ModuleSize, Caption: b.Caption}
	if strings.Contains(b.Caption, numberMark) {
		s.Caption = "" // each item carries its own
	}
	return s
}

func (b *BatchImages) item(number int64, url string) qr.Item {
	it := qr.Item{Name: strconv.FormatInt(number, 10), Content: url}
	if strings.Contains(b.Caption, numberMark) {
		it.Caption = strings.ReplaceAll(b.Caption, numberMark, it.Name)
	}
	return it
}

// checkImages refuses images a job of count codes could not draw, before
// the batch is created.
func (o *Objects) checkImages(b *BatchImages, count int) error {
	if b == nil {
		return nil
	}
	if o.jobs == nil {
		return fault.E(fault.Invalid, fault.CodeUnsupportedOperation, "this host does not run batch image jobs: pre-issue without images and download them by batch")
	}
	s := b.style()
	s.Caption = strings.ReplaceAll(b.Caption, numberMark, sampleNumber)
	if err := o.jobs.CheckStyle(s, count); err != nil {
		if fe, ok := fault.As(err); ok {
			return fault.E(fe.Kind, fe.Code, "images: %s", fe.Message)
		}
		return err
	}
	return nil
}
