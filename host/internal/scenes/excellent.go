package scenes

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/opencitycode/citycode/host/internal/actor"
	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/host/internal/httpapi"
	"github.com/opencitycode/citycode/host/internal/policy"
	"github.com/opencitycode/citycode/host/internal/store"
)

// maxImage bounds an uploaded image of an excellent scene.
const maxImage = 2 << 20

// ExcellentRoutes declares the console's excellent scenes (优秀场景管理).
func (s *Service) ExcellentRoutes() []*httpapi.Route {
	return []*httpapi.Route{
		httpapi.Handle(http.MethodGet, "/console/excellent-scenes", s.listExcellentRoute).
			Doc("优秀场景列表", "Excellent scenes of the platforms in the caller's scope by keyword (title or summary) and creation time; disabled ones are listed to platform administrators only.").
			Tag("scenes").Console("excellent.read"),
		httpapi.Handle(http.MethodGet, "/console/excellent-scenes/:id", s.getExcellentRoute).
			Doc("优秀场景详情", "One excellent scene with its content and images.").
			Tag("scenes").Console("excellent.read"),
		httpapi.Handle(http.MethodPost, "/console/excellent-scenes/images", s.uploadImageRoute).
			Doc("上传优秀场景图片", "Uploads an image (PNG, JPEG, GIF or WebP, base64, at most 2 MiB) for excellent scenes; answers its id.").
			Tag("scenes").Console("excellent.create").MaxBody(maxImage*4/3 + 4096),
		httpapi.Handle(http.MethodGet, "/console/excellent-scenes/images/:id", s.imageRoute).
			Doc("优秀场景图片", "An uploaded image.").
			Tag("scenes").Console("excellent.read"),
		httpapi.Handle(http.MethodPost, "/console/excellent-scenes", s.createExcellentRoute).
			Doc("新增优秀场景", "Adds an excellent scene: title, summary, content (rich text kept as safe HTML), uploaded images and optionally the scene it showcases.").
			Tag("scenes").Console("excellent.create"),
		httpapi.Handle(http.MethodPut, "/console/excellent-scenes/:id", s.updateExcellentRoute).
			Doc("编辑优秀场景", "Changes an excellent scene.").
			Tag("scenes").Console("excellent.update"),
		httpapi.Handle(http.MethodPost, "/console/excellent-scenes/:id/enable", s.enableExcellentRoute).
			Doc("启用优秀场景", "Lists the excellent scene again for everyone.").
			Tag("scenes").Console("excellent.enable"),
		httpapi.Handle(http.MethodPost, "/console/excellent-scenes/:id/disable", s.disableExcellentRoute).
			Doc("禁用优秀场景", "Hides the excellent scene from everyone but platform administrators.").
			Tag("scenes").Console("excellent.disable"),
	}
}

// Excellent is an excellent scene.
type Excellent struct {
	ID         int64     `json:"id"`
	PlatformID string    `json:"platformId"`
	SceneID    int64     `json:"sceneId" doc:"0: none"`
	Title      string    `json:"title"`
	Summary    string    `json:"summary"`
	Content    string    `json:"content,omitempty" doc:"safe HTML; in details only"`
	ImageIDs   []int64   `json:"imageIds"`
	Enabled    bool      `json:"enabled"`
	CreatedBy  string    `json:"createdBy"`
	CreatedAt  time.Time `json:"createdAt"`
	UpdatedAt  time.Time `json:"updatedAt"`
}

// seesDisabled reports whether the caller may see disabled excellent
// scenes: platform administrators (and root) only.
func seesDisabled(ctx context.Context) bool {
	a := actor.From(ctx)
	return a != nil && (a.OperatorType == actor.Root || a.OperatorType == actor.PlatformAdmin)
}

// ExcellentsIn filters excellent scenes.
type ExcellentsIn struct {
	Keyword  string     `query:"keyword" validate:"max=50"`
	From     *time.Time `query:"from" doc:"created at or after (RFC 3339)"`
	To       *time.Time `query:"to" doc:"created before (RFC 3339)"`
	State    string     `query:"state" validate:"omitempty,oneof=enabled disabled"`
	PageNo   int        `query:"pageNo" validate:"min=0,max=100000"`
	PageSize int        `query:"pageSize" validate:"min=0,max=500"`
}

// ExcellentPage is a page of excellent scenes.
type ExcellentPage struct {
	Total int64       `json:"total"`
	Items []Excellent `json:"items"`
}

const excellentCols = `id, platform_id, coalesce(scene_id, 0), title, summary, content, image_ids, enabled, created_by, created_at, updated_at`

func scanExcellent(r pgx.CollectableRow) (Excellent, error) {
	var x Excellent
	return x, r.Scan(&x.ID, &x.PlatformID, &x.SceneID, &x.Title, &x.Summary, &x.Content, &x.ImageIDs, &x.Enabled, &x.CreatedBy, &x.CreatedAt, &x.UpdatedAt)
}

func (s *Service) listExcellentRoute(ctx context.Context, in *ExcellentsIn) (*ExcellentPage, error) {
	if in.From != nil && in.To != nil && !in.From.Before(*in.To) {
		return nil, fault.Invalidf("parameter %q: must be after from", "to")
	}
	where := `($1 = '' OR strpos(lower(title), lower($1)) > 0 OR strpos(lower(summary), lower($1)) > 0)
		AND ($2::timestamptz IS NULL OR created_at >= $2) AND ($3::timestamptz IS NULL OR created_at < $3)
		AND ($4 = '' OR enabled = ($4 = 'enabled')) AND (enabled OR $5)`
	args := []any{in.Keyword, in.From, in.To, in.State, seesDisabled(ctx)}
	clause, more := policy.ScopeFrom(ctx).SQL(policy.ScopeColumns{Platform: "platform_id"}, len(args)+1)
	where += " AND " + clause
	args = append(args, more...)
	size := in.PageSize
	if size == 0 {
		size = 20
	}
	out := &ExcellentPage{}
	if err := s.cfg.Pool.QueryRow(ctx, `SELECT count(*) FROM excellent_scenes WHERE `+where, args...).Scan(&out.Total); err != nil {
		return nil, err
	}
	rows, err := s.cfg.Pool.Query(ctx, `SELECT `+excellentCols+` FROM excellent_scenes WHERE `+where+
		fmt.Sprintf(` ORDER BY created_at DESC, id DESC OFFSET %d LIMIT %d`, (max(in.PageNo, 1)-1)*size, size), args...)
	if err != nil {
		return nil, err
	}
	if out.Items, err = pgx.CollectRows(rows, scanExcellent); err != nil {
		return nil, err
	}
	for i := range out.Items {
		out.Items[i].Content = ""
	}
	return out, nil
}

// ExcellentIDIn names an excellent scene.
type ExcellentIDIn struct {
	ID int64 `path:"id" validate:"min=1"`
}

// excellent reads an excellent scene the caller may see.
func (s *Service) excellent(ctx context.Context, id int64) (*Excellent, error) {
	rows, err := s.cfg.Pool.Query(ctx, `SELECT `+excellentCols+` FROM excellent_scenes WHERE id = $1`, id)
	if err != nil {
		return nil, err
	}
	x, err := pgx.CollectExactlyOneRow(rows, scanExcellent)
	if store.NoRows(err) || (err == nil && (!policy.ScopeFrom(ctx).Contains(x.PlatformID, "", "") || (!x.Enabled && !seesDisabled(ctx)))) {
		return nil, fault.NotFoundf("excellent scene %d not found", id)
	}
	if err != nil {
		return nil, err
	}
	return &x, nil
}

func (s *Service) getExcellentRoute(ctx context.Context, in *ExcellentIDIn) (*Excellent, error) {
	return s.excellent(ctx, in.ID)
}

// ImageIn uploads an image.
type ImageIn struct {
	Name       string `json:"name" validate:"required,max=100"`
	Data       string `json:"data" validate:"required" doc:"base64 of the image"`
	PlatformID string `json:"platformId" validate:"max=32" doc:"default: the caller's platform"`
}

// ImageOut names an uploaded image.
type ImageOut struct {
	ID          int64  `json:"id"`
	ContentType string `json:"contentType"`
	Size        int    `json:"size"`
}

var imageTypes = []string{"image/png", "image/jpeg", "image/gif", "image/webp"}

func (s *Service) uploadImageRoute(ctx context.Context, in *ImageIn) (*ImageOut, error) {
	p, err := ownPlatform(ctx, in.PlatformID)
	if err != nil {
		return nil, err
	}
	data, err := base64.StdEncoding.DecodeString(in.Data)
	if err != nil {
		return nil, fault.Invalidf("parameter %q: not base64", "data")
	}
	if len(data) == 0 || len(data) > maxImage {
		return nil, fault.Invalidf("parameter %q: an image of 1 byte to 2 MiB", "data")
	}
	// The type is what the bytes are, never what the name claims: the
	// image is served back with it.
	ct := http.DetectContentType(data)
	if !slices.Contains(imageTypes, ct) {
		return nil, fault.Invalidf("parameter %q: %s is not a PNG, JPEG, GIF or WebP image", "data", ct)
	}
	out := &ImageOut{ContentType: ct, Size: len(data)}
	err = s.cfg.Pool.QueryRow(ctx, `INSERT INTO excellent_scene_files (platform_id, content_type, name, data, created_by, created_at)
		VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`, p, ct, in.Name, data, accountOf(ctx), s.cfg.Clock()).Scan(&out.ID)
	return out, err
}

// ImageIDIn names an image.
type ImageIDIn struct {
	ID int64 `path:"id" validate:"min=1"`
}

type image struct {
	contentType string
	data        []byte
}

func (i *image) ContentType() string { return i.contentType }
func (i *image) Filename() string    { return "" }
func (i *image) WriteTo(_ context.Context, w io.Writer) error {
	_, err := w.Write(i.data)
	return err
}

func (s *Service) imageRoute(ctx context.Context, in *ImageIDIn) (*image, error) {
	var p string
	img := &image{}
	err := s.cfg.Pool.QueryRow(ctx, `SELECT platform_id, content_type, data FROM excellent_scene_files WHERE id = $1`, in.ID).Scan(&p, &img.contentType, &img.data)
	if store.NoRows(err) || (err == nil && !policy.ScopeFrom(ctx).Contains(p, "", "")) {
		return nil, fault.NotFoundf("image %d not found", in.ID)
	}
	if err != nil {
		return nil, err
	}
	return img, nil
}

// ExcellentIn is what the console writes of an excellent scene.
type ExcellentIn struct {
	Title    string  `json:"title" validate:"required,max=100"`
	Summary  string  `json:"summary" validate:"max=500"`
	Content  string  `json:"content" validate:"max=100000" doc:"rich text; kept as safe HTML"`
	ImageIDs []int64 `json:"imageIds" validate:"max=20"`
	SceneID  int64   `json:"sceneId" validate:"min=0" doc:"the scene it showcases; 0: none"`
}

// check validates references against the platform the row belongs to.
func (s *Service) checkExcellent(ctx context.Context, platformID string, in *ExcellentIn) error {
	if in.ImageIDs == nil {
		in.ImageIDs = []int64{}
	}
	var found int
	if err := s.cfg.Pool.QueryRow(ctx, `SELECT count(*) FROM excellent_scene_files WHERE id = ANY($1) AND platform_id = $2`,
		in.ImageIDs, platformID).Scan(&found); err != nil {
		return err
	}
	if found != len(in.ImageIDs) {
		return fault.Invalidf("parameter %q: upload the images to the platform first (each once)", "imageIds")
	}
	if in.SceneID != 0 {
		if _, err := s.scene(ctx, in.SceneID); err != nil {
			return fault.Invalidf("parameter %q: scene %d does not exist", "sceneId", in.SceneID)
		}
	}
	in.Content = Sanitize(in.Content)
	in.Title = strings.TrimSpace(in.Title)
	return nil
}

// ExcellentCreateIn adds an excellent scene.
type ExcellentCreateIn struct {
	ExcellentIn
	PlatformID string `json:"platformId" validate:"max=32" doc:"default: the caller's platform"`
}

func (s *Service) createExcellentRoute(ctx context.Context, in *ExcellentCreateIn) (*Excellent, error) {
	p, err := ownPlatform(ctx, in.PlatformID)
	if err != nil {
		return nil, err
	}
	if err := s.checkExcellent(ctx, p, &in.ExcellentIn); err != nil {
		return nil, err
	}
	var id int64
	if err := s.cfg.Pool.QueryRow(ctx, `INSERT INTO excellent_scenes (platform_id, scene_id, title, summary, content, image_ids, created_by, created_at, updated_at)
		VALUES ($1, nullif($2, 0), $3, $4, $5, $6, $7, $8, $8) RETURNING id`, p, in.SceneID, in.Title, in.Summary, in.Content, in.ImageIDs,
		accountOf(ctx), s.cfg.Clock()).Scan(&id); err != nil {
		return nil, err
	}
	return s.excellent(ctx, id)
}

// ExcellentUpdateIn changes an excellent scene.
type ExcellentUpdateIn struct {
	ExcellentIDIn
	ExcellentIn
}

func (s *Service) updateExcellentRoute(ctx context.Context, in *ExcellentUpdateIn) (*Excellent, error) {
	x, err := s.excellent(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	if err := s.checkExcellent(ctx, x.PlatformID, &in.ExcellentIn); err != nil {
		return nil, err
	}
	if _, err := s.cfg.Pool.Exec(ctx, `UPDATE excellent_scenes SET scene_id = nullif($2, 0), title = $3, summary = $4, content = $5, image_ids = $6, updated_at = $7
		WHERE id = $1`, in.ID, in.SceneID, in.Title, in.Summary, in.Content, in.ImageIDs, s.cfg.Clock()); err != nil {
		return nil, err
	}
	return s.excellent(ctx, in.ID)
}

func (s *Service) setExcellentEnabled(ctx context.Context, id int64, enabled bool) (*Excellent, error) {
	x, err := s.excellent(ctx, id)
	if err != nil {
		return nil, err
	}
	x.Enabled, x.UpdatedAt = enabled, s.cfg.Clock()
	// Answered from what was read: a disabler who is no platform
	// administrator could not read it back.
	if _, err := s.cfg.Pool.Exec(ctx, `UPDATE excellent_scenes SET enabled = $2, updated_at = $3 WHERE id = $1`, id, x.Enabled, x.UpdatedAt); err != nil {
		return nil, err
	}
	return x, nil
}

func (s *Service) enableExcellentRoute(ctx context.Context, in *ExcellentIDIn) (*Excellent, error) {
	return s.setExcellentEnabled(ctx, in.ID, true)
}

func (s *Service) disableExcellentRoute(ctx context.Context, in *ExcellentIDIn) (*Excellent, error) {
	return s.setExcellentEnabled(ctx, in.ID, false)
}
