package codeengine

import (
	"context"
	"io"
	"net/http"
	"strconv"

	"github.com/opencitycode/citycode/host/internal/actor"
	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/host/internal/httpapi"
	"github.com/opencitycode/citycode/host/internal/qr"
)

// Routes declares the object-code API (signed, under /openapi/v1/) and the
// console's object types.
func (o *Objects) Routes() []*httpapi.Route {
	const get, post = http.MethodGet, http.MethodPost
	return []*httpapi.Route{
		httpapi.Handle(post, "/openapi/v1/object-codes/batches", o.preIssueRoute).
			Doc("批量预生成空码", "Pre-issues count empty object codes of an object rule (codeDefId) in one batch: each has an unguessable URL and a 9-digit unified number. Up to 1,000,000 per batch.").
			Tag("object-code").App().Errors(fault.CodeCodeNotActive, fault.CodeUnauthorizedOperation),
		httpapi.Handle(get, "/openapi/v1/object-codes/batches/:batchId/codes", o.batchCodesRoute).
			Doc("批次码列表", "The codes of a batch in number order, for printing (offset, limit <= 10000).").
			Tag("object-code").App().Reads(),
		httpapi.Handle(post, "/openapi/v1/object-codes/:code/activate", o.activateRoute).
			Doc("激活空码", "Fills an empty code with its object's attributes; the object type's required attributes must all be there. code is the token, the URL or the unified number.").
			Tag("object-code").App().Errors(fault.CodeFailedOperation),
		httpapi.Handle(post, "/openapi/v1/object-codes/verify", o.verifyRoute).
			Doc("一物一码验码", "What a scanned object code is: type, attributes (coordinates, opening hours, ...), owner unit, region. A cancelled code answers FailedOperation.CodeRevoked, an empty one FailedOperation.CodeNotActive.").
			Tag("object-code").App().Reads().Errors(fault.CodeCodeRevoked, fault.CodeCodeNotActive, fault.CodeCodeTampered),
		httpapi.Handle(post, "/openapi/v1/object-codes/:code/cancel", o.cancelRoute).
			Doc("注销", "Cancels a code (the object is gone); verifying it then answers FailedOperation.CodeRevoked.").
			Tag("object-code").App().Errors(fault.CodeFailedOperation),
		httpapi.Handle(get, "/openapi/v1/object-codes/:code/image", o.imageRoute).
			Doc("下载码图", "The code's QR image (PNG or SVG) holding its URL.").
			Tag("object-code").App().Reads(),
		httpapi.Handle(get, "/openapi/v1/object-codes/batches/:batchId/images", o.imagesRoute).
			Doc("批量下载码图", "A zip of the batch's QR images (offset, limit <= 10000), named by unified number, rendered on every core and streamed.").
			Tag("object-code").App().Reads(),
		httpapi.Handle(post, "/console/object-types", o.CreateType).
			Doc("新增物品类型", "An object type with the attributes activation requires.").
			Tag("object-code").Console("objtype.create"),
	}
}

func app(ctx context.Context) (*actor.Actor, error) {
	a := actor.From(ctx)
	if a == nil || a.Kind != actor.KindApp {
		return nil, fault.E(fault.Unauthenticated, fault.CodeAuthFailure, "a signed app request is required")
	}
	return a, nil
}

// PreIssueIn asks for a batch.
type PreIssueIn struct {
	CodeDefID  string `json:"codeDefId" validate:"required,max=32"`
	TypeID     string `json:"typeId" validate:"max=32"`
	RegionCode string `json:"regionCode" validate:"max=32"`
	Count      int    `json:"count" validate:"required,min=1,max=1000000"`
}

func (o *Objects) preIssueRoute(ctx context.Context, in *PreIssueIn) (*Batch, error) {
	a, err := app(ctx)
	if err != nil {
		return nil, err
	}
	return o.PreIssue(ctx, a.AppID, a.PlatformID, in.CodeDefID, in.TypeID, in.RegionCode, in.Count)
}

// BatchCodesIn pages a batch.
type BatchCodesIn struct {
	BatchID string `path:"batchId" json:"-"`
	Offset  int    `query:"offset" validate:"min=0"`
	Limit   int    `query:"limit" validate:"min=0,max=10000"`
}

// CodeList is a page of object codes.
type CodeList struct {
	Items []ObjectCode `json:"items"`
}

func (o *Objects) batchCodesRoute(ctx context.Context, in *BatchCodesIn) (*CodeList, error) {
	a, err := app(ctx)
	if err != nil {
		return nil, err
	}
	items, err := o.BatchCodes(ctx, a.PlatformID, in.BatchID, in.Offset, in.Limit)
	if err != nil {
		return nil, err
	}
	if items == nil {
		items = []ObjectCode{}
	}
	return &CodeList{Items: items}, nil
}

// CodeActivateIn names the code to activate.
type CodeActivateIn struct {
	Code string `path:"code" json:"-"`
	ActivateIn
}

func (o *Objects) activateRoute(ctx context.Context, in *CodeActivateIn) (*ObjectCode, error) {
	a, err := app(ctx)
	if err != nil {
		return nil, err
	}
	return o.Activate(ctx, a.AppID, a.PlatformID, in.Code, &in.ActivateIn)
}

// VerifyIn is a scanned object code.
type VerifyIn struct {
	Code        string `json:"code" validate:"required,max=512" doc:"the scanned URL, its token, or the unified number"`
	AcceptOrgID string `json:"acceptOrgId" validate:"max=64"`
}

func (o *Objects) verifyRoute(ctx context.Context, in *VerifyIn) (*ObjectCode, error) {
	a, err := app(ctx)
	if err != nil {
		return nil, err
	}
	return o.Verify(ctx, a.AppID, in.Code, in.AcceptOrgID)
}

// CodeIn names a code.
type CodeIn struct {
	Code string `path:"code" json:"-"`
}

func (o *Objects) cancelRoute(ctx context.Context, in *CodeIn) (*httpapi.Empty, error) {
	a, err := app(ctx)
	if err != nil {
		return nil, err
	}
	return &httpapi.Empty{}, o.Cancel(ctx, a.AppID, a.PlatformID, in.Code)
}

// ImageIn asks for one code's image.
type ImageIn struct {
	Code   string `path:"code" json:"-"`
	Format string `query:"format" validate:"omitempty,oneof=png svg"`
	Level  string `query:"level" validate:"omitempty,oneof=L M Q H"`
	Size   int    `query:"moduleSize" validate:"min=0,max=40" doc:"pixels per module"`
}

// image is a rendered code answered as a file.
type image struct {
	data   []byte
	format string
	name   string
}

func (i *image) ContentType() string {
	if i.format == "svg" {
		return "image/svg+xml"
	}
	return "image/png"
}
func (i *image) Filename() string                             { return i.name }
func (i *image) WriteTo(_ context.Context, w io.Writer) error { _, err := w.Write(i.data); return err }

func (o *Objects) imageRoute(ctx context.Context, in *ImageIn) (*image, error) {
	if _, err := app(ctx); err != nil {
		return nil, err
	}
	c, _, err := o.load(ctx, nil, in.Code, false)
	if err != nil {
		return nil, err
	}
	st := qr.Style{Format: in.Format, Level: in.Level, ModulePx: in.Size}
	data, err := qr.Render(c.URL, st)
	if err != nil {
		return nil, err
	}
	format := in.Format
	if format == "" {
		format = "png"
	}
	return &image{data: data, format: format, name: strconv.FormatInt(c.Number, 10) + "." + format}, nil
}

// ImagesIn pages a batch's images.
type ImagesIn struct {
	BatchID string `path:"batchId" json:"-"`
	Offset  int    `query:"offset" validate:"min=0"`
	Limit   int    `query:"limit" validate:"min=0,max=10000"`
	Format  string `query:"format" validate:"omitempty,oneof=png svg"`
	Size    int    `query:"moduleSize" validate:"min=0,max=40"`
}

// zipFile streams a batch's images.
type zipFile struct {
	items []qr.Item
	style qr.Style
	name  string
}

func (z *zipFile) ContentType() string { return "application/zip" }
func (z *zipFile) Filename() string    { return z.name }
func (z *zipFile) WriteTo(ctx context.Context, w io.Writer) error {
	return qr.WriteZip(ctx, w, z.items, z.style)
}

func (o *Objects) imagesRoute(ctx context.Context, in *ImagesIn) (*zipFile, error) {
	a, err := app(ctx)
	if err != nil {
		return nil, err
	}
	codes, err := o.BatchCodes(ctx, a.PlatformID, in.BatchID, in.Offset, in.Limit)
	if err != nil {
		return nil, err
	}
	items := make([]qr.Item, len(codes))
	for i, c := range codes {
		items[i] = qr.Item{Name: strconv.FormatInt(c.Number, 10), Content: c.URL}
	}
	return &zipFile{items: items, style: qr.Style{Format: in.Format, ModulePx: in.Size}, name: in.BatchID + ".zip"}, nil
}
