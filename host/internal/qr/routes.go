package qr

import (
	"context"
	"io"
	"net/http"
	"strings"

	"github.com/opencitycode/citycode/host/internal/actor"
	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/host/internal/httpapi"
	"github.com/opencitycode/citycode/host/internal/policy"
)

// Routes declares the console endpoints of image jobs (图片任务).
func (j *Jobs) Routes() []*httpapi.Route {
	return []*httpapi.Route{
		httpapi.Handle(http.MethodGet, "/console/qr/jobs", j.listRoute).
			Doc("图片任务列表", "Lists batch image jobs in the caller's platform scope, newest first, by status and kind.").
			Tag("qr").Console("qrjob.read"),
		httpapi.Handle(http.MethodGet, "/console/qr/jobs/:jobId", j.getRoute).
			Doc("图片任务进度", "A batch image job's status and progress: total, done and percent.").
			Tag("qr").Console("qrjob.read").Errors(fault.CodeResourceNotFound),
		httpapi.Handle(http.MethodGet, "/console/qr/jobs/:jobId/download", j.downloadRoute).
			Doc("图片任务下载", "Downloads a done job's images as a zip named <kind>-<jobId>.zip; a job not yet done, failed or expired answers FailedOperation.").
			Tag("qr").Console("qrjob.read").Errors(fault.CodeResourceNotFound, fault.CodeFailedOperation),
	}
}

// AppRoutes declares the open API's endpoints of image jobs: an app reads
// the jobs of its own platform (such as those its pre-issued batches
// submitted).
func (j *Jobs) AppRoutes() []*httpapi.Route {
	return []*httpapi.Route{
		httpapi.Handle(http.MethodGet, "/openapi/v1/qr-jobs/:jobId", j.appGetRoute).
			Doc("图片任务进度（应用）", "A batch image job of the app's platform (such as the one a pre-issue with images submitted): status and progress (total, done, percent). Another platform's job is not found.").
			Tag("qr").App().Reads().Errors(fault.CodeResourceNotFound),
		httpapi.Handle(http.MethodGet, "/openapi/v1/qr-jobs/:jobId/download", j.appDownloadRoute).
			Doc("图片任务下载（应用）", "Downloads a done job of the app's platform as a zip named <kind>-<jobId>.zip, one image per code named by its unified number; a job not yet done, failed or expired answers FailedOperation.").
			Tag("qr").App().Reads().Errors(fault.CodeResourceNotFound, fault.CodeFailedOperation),
	}
}

// JobIn names a job.
type JobIn struct {
	JobID string `path:"jobId" json:"-" validate:"required,max=64"`
}

func (j *Jobs) listRoute(ctx context.Context, in *ListQuery) (*Page, error) {
	return j.List(ctx, *in)
}

// readable loads a job and checks the caller may read its platform's jobs.
func (j *Jobs) readable(ctx context.Context, id string) (*Job, error) {
	jb, err := j.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if _, err := j.cfg.Authz.Require(ctx, "qrjob.read", &policy.Resource{PlatformID: jb.PlatformID}); err != nil {
		return nil, err
	}
	return jb, nil
}

func (j *Jobs) getRoute(ctx context.Context, in *JobIn) (*Job, error) {
	return j.readable(ctx, in.JobID)
}

// appReadable loads a job of the calling app's platform. Another
// platform's job is not found, as if it did not exist.
func (j *Jobs) appReadable(ctx context.Context, id string) (*Job, error) {
	a := actor.From(ctx)
	if a == nil || a.Kind != actor.KindApp {
		return nil, fault.E(fault.Unauthenticated, fault.CodeAuthFailure, "a signed app request is required")
	}
	jb, err := j.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if jb.PlatformID != a.PlatformID {
		return nil, fault.NotFoundf("no image job %q", id)
	}
	return jb, nil
}

func (j *Jobs) appGetRoute(ctx context.Context, in *JobIn) (*Job, error) {
	return j.appReadable(ctx, in.JobID)
}

func (j *Jobs) appDownloadRoute(ctx context.Context, in *JobIn) (*zipDownload, error) {
	jb, err := j.appReadable(ctx, in.JobID)
	if err != nil {
		return nil, err
	}
	if err := downloadable(jb); err != nil {
		return nil, err
	}
	return &zipDownload{j: j, jb: jb}, nil
}

// zipDownload streams a done job's zip.
type zipDownload struct {
	j  *Jobs
	jb *Job
}

func (z *zipDownload) ContentType() string { return "application/zip" }
func (z *zipDownload) Filename() string    { return z.jb.Kind + "-" + z.jb.ID + ".zip" }
func (z *zipDownload) WriteTo(ctx context.Context, w io.Writer) error {
	return z.j.writeZipTo(ctx, z.jb, w)
}

func (j *Jobs) downloadRoute(ctx context.Context, in *JobIn) (*zipDownload, error) {
	jb, err := j.readable(ctx, in.JobID)
	if err != nil {
		return nil, err
	}
	if err := downloadable(jb); err != nil {
		return nil, err
	}
	return &zipDownload{j: j, jb: jb}, nil
}

// Image is one rendered QR image as a route's answer: a handler returning
// *Image has the HTTP layer send it as a file.
type Image struct {
	data     []byte
	format   string
	filename string
}

// ServeImage renders content in style s for a route to answer. filename ""
// shows the image inline; otherwise it is a download of that name (the
// format's extension is added when missing). Errors are those of Render,
// raised before anything is sent.
func (r *Renderer) ServeImage(content string, s Style, filename string) (*Image, error) {
	p, data, err := r.renderStyle(content, s)
	if err != nil {
		return nil, err
	}
	if filename != "" {
		filename = sanitizeName(filename, 0)
		if ext := "." + p.Format; !strings.HasSuffix(strings.ToLower(filename), ext) {
			filename += ext
		}
	}
	return &Image{data: data, format: p.Format, filename: filename}, nil
}

// ContentType is image/png or image/svg+xml.
func (i *Image) ContentType() string {
	if i.format == "svg" {
		return "image/svg+xml"
	}
	return "image/png"
}

// Filename is the download name, "" for inline.
func (i *Image) Filename() string { return i.filename }

// Bytes is the encoded image.
func (i *Image) Bytes() []byte { return i.data }

// WriteTo writes the image.
func (i *Image) WriteTo(_ context.Context, w io.Writer) error {
	_, err := w.Write(i.data)
	return err
}

var (
	_ httpapi.Download = (*Image)(nil)
	_ httpapi.Download = (*zipDownload)(nil)
)
