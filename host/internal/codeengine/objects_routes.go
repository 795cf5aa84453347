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
	"github.com/opencitycode/citycode/host/internal/store"
)

// Routes declares the object-code API (signed, under /openapi/v1/) and the
// console's object types, codes, reviews, exports and download records.
func (o *Objects) Routes() []*httpapi.Route {
	const get, post, put = http.MethodGet, http.MethodPost, http.MethodPut
	return []*httpapi.Route{
		httpapi.Handle(post, "/openapi/v1/object-codes/batches", o.preIssueRoute).
			Doc("批量预生成空码", "Pre-issues count empty object codes of an object rule (codeDefId) in one batch: each has an unguessable URL and a 9-digit unified number. Up to 1,000,000 per batch. With images (format, moduleSize, level, caption; at most 100,000 codes) the batch also submits a background image job, committed with the batch, and answers its jobId: progress at GET /openapi/v1/qr-jobs/{jobId}, the zip (one image per code, named by unified number) at GET /openapi/v1/qr-jobs/{jobId}/download, and in the console's image jobs.").
			Tag("object-code").App().Errors(fault.CodeCodeNotActive, fault.CodeUnauthorizedOperation, fault.CodeUnsupportedOperation),
		httpapi.Handle(get, "/openapi/v1/object-codes/batches/:batchId/codes", o.batchCodesRoute).
			Doc("批次码列表", "The codes of a batch in number order, for printing (offset, limit <= 10000).").
			Tag("object-code").App().Reads(),
		httpapi.Handle(post, "/openapi/v1/object-codes", o.enterRoute).
			Doc("一物一码信息录入（单个）", "Creates one object code already filled with its object's information: active, or pending_review when the object type requires review. The type's required attributes must all be there; a type with a unique industry code refuses one another live code of the type holds (FailedOperation, naming that code).").
			Tag("object-code").App().Errors(fault.CodeFailedOperation, fault.CodeCodeNotActive, fault.CodeUnauthorizedOperation),
		httpapi.Handle(post, "/openapi/v1/object-codes/entries", o.enterBatchRoute).
			Doc("一物一码信息录入（批量）", "Creates up to 1,000 filled object codes in one batch with consecutive unified numbers. Each item stands alone: the good ones are created, the others reported by index with their error code and message (unknown type, missing attribute, industry code already held by a live code or an earlier item).").
			Tag("object-code").App().Errors(fault.CodeCodeNotActive, fault.CodeUnauthorizedOperation),
		httpapi.Handle(post, "/openapi/v1/object-codes/entries/import", o.importEntriesRoute).
			Doc("一物一码信息录入（xlsx导入）", "Enters the objects of an xlsx sheet (base64 in file; at most 1,000 rows, 20 MB): headers 物品类型 (type id or name), 名称, 部件编号, 区划, 权属单位, 经纬度 (lng,lat) and the type's attributes by their labels, as the template has them. Rows are checked cell by cell, then the good ones are entered as the batch entry enters items — one batch with consecutive numbers, the same validation, review and events — and refused rows are reported with their row, column, error code and message; as with the enterprise import, good rows are entered even when others are refused. A body that is not an xlsx workbook answers InvalidParameter.").
			Tag("object-code").App().MaxBody(MaxImportBody).Errors(fault.CodeCodeNotActive, fault.CodeUnauthorizedOperation),
		httpapi.Handle(get, "/openapi/v1/object-codes/entries/template", o.templateRoute).
			Doc("一物一码录入模板", "An xlsx template of an object type's entry: a header row with the type's columns (required ones marked *) and an example row, skipped on import while left unchanged; a second sheet tells what each column takes.").
			Tag("object-code").App().Reads(),
		httpapi.Handle(post, "/openapi/v1/object-codes/:code/activate", o.activateRoute).
			Doc("激活空码", "Fills an empty (or rejected) code with its object's attributes; the object type's required attributes must all be there. The code becomes active, or pending_review when its type requires review. A type with a unique industry code refuses one another live code holds (FailedOperation, naming that code). code is the token, the URL or the unified number.").
			Tag("object-code").App().Errors(fault.CodeFailedOperation),
		httpapi.Handle(post, "/openapi/v1/object-codes/:code/modify", o.modifyRoute).
			Doc("修改码属性", "Changes a filled code's attributes (merged; null removes one), region or owner unit. An active code changes at once; a pending one replaces its submission; a rejected one is submitted again. The industry code stays unique.").
			Tag("object-code").App().Errors(fault.CodeFailedOperation),
		httpapi.Handle(post, "/openapi/v1/object-codes/verify", o.verifyRoute).
			Doc("一物一码验码", "What a scanned object code is: type, attributes (coordinates, opening hours, ...), owner unit, region. A cancelled code answers FailedOperation.CodeRevoked; an empty, pending-review or rejected one FailedOperation.CodeNotActive, its message saying which. Named by number, another platform's code comes without its URL token. The content of an imported old code (旧码, 一企一码兼容: an old URL or string, matched exactly) answers the code it stands for with generation legacy and legacyContent — for an enterprise, the enterprise code's url and number and enterprise.").
			Tag("object-code").App().Reads().Errors(fault.CodeCodeRevoked, fault.CodeCodeNotActive, fault.CodeCodeTampered),
		httpapi.Handle(get, "/openapi/v1/object-codes/numbers/:number", o.byNumberRoute).
			Doc("统一编码信息查询", "The object code with a 9-digit unified number (统一编号), whatever its status: its object's information (address, coordinates, owner unit, ...). The check digit is verified first (InvalidParameter). Another platform's code comes without its URL token and batch.").
			Tag("object-code").App().Reads(),
		httpapi.Handle(get, "/openapi/v1/object-codes/by-industry-code", o.byIndustryCodeRoute).
			Doc("查码值", "The codes of the app's platform whose object has an industry code (部件编号), live ones first: the code value and batch of a lost or damaged sticker, to download its image again.").
			Tag("object-code").App().Reads(),
		httpapi.Handle(post, "/openapi/v1/object-codes/:code/cancel", o.cancelRoute).
			Doc("注销", "Cancels a code (the object is gone); verifying it then answers FailedOperation.CodeRevoked. A submission waiting for review is withdrawn, and the industry code is free again.").
			Tag("object-code").App().Errors(fault.CodeFailedOperation),
		httpapi.Handle(get, "/openapi/v1/object-codes/:code/image", o.imageRoute).
			Doc("下载码图", "The code's QR image (PNG or SVG) holding its URL.").
			Tag("object-code").App().Reads(),
		httpapi.Handle(get, "/openapi/v1/object-codes/batches/:batchId/images", o.imagesRoute).
			Doc("批量下载码图", "A zip of the batch's QR images (offset, limit <= 10000), named by unified number, rendered on every core and streamed. Recorded in the download records.").
			Tag("object-code").App().Reads(),

		httpapi.Handle(post, "/console/object-types", o.CreateType).
			Doc("新增物品类型", "An object type with the attributes activation requires, its review switch (需审核, with auto-approval after 72 hours) and its industry code (the attribute holding it, and whether it is unique).").
			Tag("object-code").Console("objtype.create"),
		httpapi.Handle(get, "/console/object-types", o.ListTypes).
			Doc("物品类型列表", "Object types by name, parent (the sub-types of a type) and management; a staff member confined to object types sees those.").
			Tag("object-code").Console("objtype.read"),
		httpapi.Handle(get, "/console/object-types/:typeId", o.GetType).
			Doc("物品类型详情", "One object type with its settings.").
			Tag("object-code").Console("objtype.read"),
		httpapi.Handle(put, "/console/object-types/:typeId", o.UpdateType).
			Doc("修改物品类型", "Replaces a type's settings (main platform only, within the caller's object types). The review switch applies to the next submissions. Requiring a unique industry code while two live codes share one is refused naming them (FailedOperation).").
			Tag("object-code").Console("objtype.update").Errors(fault.CodeFailedOperation),
		httpapi.Handle(get, "/console/object-codes", o.ListCodes).
			Doc("一物一码列表", "Object codes in the caller's data scope by type, batch, status, region (and below), platform, industry code and creation time, newest first.").
			Tag("object-code").Console("objcode.read"),
		httpapi.Handle(get, "/console/object-codes/export", o.Export).
			Doc("码信息导出", "An xlsx of the object codes in the caller's data scope matching the same filters as the list (at most 1,000,000): code values, status, type, industry code, region, owner unit, batch, times and the attributes as stored. Recorded in the download records.").
			Tag("object-code").Console("objcode.export"),
		httpapi.Handle(get, "/console/object-codes/batches/:batchId/images", o.ConsoleImages).
			Doc("批量下载码图（控制台）", "A zip of a batch's QR images (offset, limit <= 10000) for an operator whose data scope holds the batch. Recorded in the download records.").
			Tag("object-code").Console("objcode.export"),
		httpapi.Handle(get, "/console/object-code-downloads", o.ListDownloads).
			Doc("下载记录", "Exports and image downloads in the caller's data scope — who, what (filters or batch range), when, how many codes — newest first.").
			Tag("object-code").Console("objcode.read"),
		httpapi.Handle(get, "/console/object-code-downloads/:downloadId/file", o.Again).
			Doc("再次下载", "Takes a recorded download again with today's data (the same export filter, or the same batch range of images); recorded as a new download.").
			Tag("object-code").Console("objcode.export"),
		httpapi.Handle(get, "/console/object-code-reviews", o.ListReviews).
			Doc("一物一码审核列表", "Submissions of object codes for review in the caller's data scope (platform, region, object types; city-wide types for main-platform operators only), by result, type, number, platform, region and submission time. Pending ones come oldest first.").
			Tag("object-code").Console("objcode.review"),
		httpapi.Handle(post, "/console/object-code-reviews/:reviewId/approve", o.Approve).
			Doc("审核通过", "Approves a pending submission: the code becomes active. FailedOperation when it was decided meanwhile (by another reviewer, the 72-hour auto-approval, a cancellation or a new submission).").
			Tag("object-code").Console("objcode.review").Errors(fault.CodeFailedOperation),
		httpapi.Handle(post, "/console/object-code-reviews/:reviewId/reject", o.Reject).
			Doc("审核驳回", "Rejects a pending submission with a reason (required): the code becomes rejected, keeps what was submitted for the submitter to correct, and frees its industry code.").
			Tag("object-code").Console("objcode.review").Errors(fault.CodeFailedOperation),
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
	// Images, when set, also submits a background job drawing the
	// batch's images (at most 100,000 codes).
	Images *BatchImages `json:"images" doc:"also render every code's image in a background job (at most 100,000 codes); the answer's jobId follows it"`
}

func (o *Objects) preIssueRoute(ctx context.Context, in *PreIssueIn) (*Batch, error) {
	a, err := app(ctx)
	if err != nil {
		return nil, err
	}
	return o.preIssue(ctx, a.AppID, a.PlatformID, in)
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
	Code        string `json:"code" validate:"required,max=512" doc:"the scanned URL, its token, the unified number, or an imported old code's content"`
	AcceptOrgID string `json:"acceptOrgId" validate:"max=64"`
}

func (o *Objects) verifyRoute(ctx context.Context, in *VerifyIn) (*ObjectCode, error) {
	a, err := app(ctx)
	if err != nil {
		return nil, err
	}
	return o.Verify(ctx, a.AppID, a.PlatformID, in.Code, in.AcceptOrgID)
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
	if err := storable("batchId", in.BatchID); err != nil {
		return nil, err
	}
	var platform, region, typeID string
	err = o.rules.cfg.Pool.QueryRow(ctx, `SELECT platform_id, region_code, coalesce(type_id, '') FROM object_batches WHERE id = $1`, in.BatchID).
		Scan(&platform, &region, &typeID)
	if store.NoRows(err) || err == nil && platform != a.PlatformID {
		return nil, fault.NotFoundf("batch %s not found", in.BatchID)
	}
	if err != nil {
		return nil, err
	}
	return o.images(ctx, platform, region, typeID, imageFilters{BatchID: in.BatchID, Offset: in.Offset, Limit: in.Limit, Format: in.Format, ModulePx: in.Size})
}

func (o *Objects) enterRoute(ctx context.Context, in *EntryIn) (*ObjectCode, error) {
	a, err := app(ctx)
	if err != nil {
		return nil, err
	}
	return o.Enter(ctx, a.AppID, a.PlatformID, in)
}

func (o *Objects) enterBatchRoute(ctx context.Context, in *BatchEntryIn) (*EntryResult, error) {
	a, err := app(ctx)
	if err != nil {
		return nil, err
	}
	return o.EnterBatch(ctx, a.AppID, a.PlatformID, in)
}

// CodeModifyIn names the code to modify.
type CodeModifyIn struct {
	Code string `path:"code" json:"-"`
	ModifyIn
}

func (o *Objects) modifyRoute(ctx context.Context, in *CodeModifyIn) (*ObjectCode, error) {
	a, err := app(ctx)
	if err != nil {
		return nil, err
	}
	return o.Modify(ctx, a.AppID, a.PlatformID, in.Code, &in.ModifyIn)
}

// UnifiedNumberIn names a code by its unified number, as typed.
type UnifiedNumberIn struct {
	Number string `path:"number" json:"-" doc:"the 9-digit unified number"`
}

func (o *Objects) byNumberRoute(ctx context.Context, in *UnifiedNumberIn) (*ObjectCode, error) {
	a, err := app(ctx)
	if err != nil {
		return nil, err
	}
	return o.ByNumber(ctx, a.PlatformID, in.Number)
}

// IndustryCodeIn asks for the codes of an industry code.
type IndustryCodeIn struct {
	IndustryCode string `query:"industryCode" validate:"required,max=128" doc:"部件编号: the object's industry code"`
	TypeID       string `query:"typeId" validate:"max=32"`
}

func (o *Objects) byIndustryCodeRoute(ctx context.Context, in *IndustryCodeIn) (*CodeList, error) {
	a, err := app(ctx)
	if err != nil {
		return nil, err
	}
	items, err := o.ByIndustryCode(ctx, a.PlatformID, in.TypeID, in.IndustryCode)
	if err != nil {
		return nil, err
	}
	return &CodeList{Items: items}, nil
}
