package plugin

import (
	"bytes"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
)

// FormOptions say what ReadForm accepts.
type FormOptions struct {
	// MaxField is the longest value of a multipart field, in bytes
	// (default 8 KiB).
	MaxField int
	// ImageField names the one field that may carry a file: an image
	// (JPEG, PNG, WebP or GIF) recognised by its content, not by the name
	// the browser gave it. Empty: the form takes no file.
	ImageField string
	// MaxImage is the largest image, in bytes (default 4 MB).
	MaxImage int
	// Video lets ImageField also carry a short video (MP4 or WebM, by
	// content), at most MaxImage bytes; the host stores files of at most
	// 5 MB.
	Video bool
	// NoFile is the refusal of a file sent to a form that takes none
	// (default 无需上传文件).
	NoFile string
}

// Form is a submitted form: its fields and the image, when one was sent.
type Form struct {
	Values url.Values
	Image  *Image
}

// Image is an uploaded image (or video, when FormOptions.Video allows one),
// named by the type its content has (the browser's file name may hold
// anything).
type Image struct {
	Name        string // ImageField + extension: photo.jpg
	ContentType string
	Data        []byte
}

// imageTypes are the image types the host stores (files.write).
var imageTypes = map[string]string{"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp", "image/gif": ".gif"}

// videoTypes are the video types the host stores, as
// http.DetectContentType names them.
var videoTypes = map[string]string{"video/mp4": ".mp4", "video/webm": ".webm"}

// IsVideo reports whether an uploaded file is a video.
func (i *Image) IsVideo() bool { return videoTypes[i.ContentType] != "" }

// ReadForm parses a urlencoded or multipart body the way a citizen's
// browser sends it. Every refusal is an *Error with code ErrInvalid and a
// message for the citizen.
func ReadForm(req *Request, o FormOptions) (*Form, error) {
	if o.MaxField <= 0 {
		o.MaxField = 8 << 10
	}
	if o.MaxImage <= 0 {
		o.MaxImage = 4 << 20
	}
	if o.NoFile == "" {
		o.NoFile = "无需上传文件"
	}
	invalid := func(msg string) error { return &Error{Code: ErrInvalid, Message: msg} }
	f := &Form{Values: url.Values{}}
	mt, params, err := mime.ParseMediaType(req.Header["Content-Type"])
	if err != nil {
		mt = "application/x-www-form-urlencoded"
	}
	switch mt {
	case "application/x-www-form-urlencoded":
		if f.Values, err = url.ParseQuery(string(req.Body)); err != nil {
			return nil, invalid("表单无法解析")
		}
		return f, nil
	case "multipart/form-data":
	default:
		return nil, invalid("请以表单（application/x-www-form-urlencoded 或 multipart/form-data）提交")
	}
	if params["boundary"] == "" {
		return nil, invalid("表单无法解析：缺少 multipart boundary")
	}
	mr := multipart.NewReader(bytes.NewReader(req.Body), params["boundary"])
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			return f, nil
		}
		if err != nil {
			return nil, invalid("表单无法解析")
		}
		name := part.FormName()
		if o.ImageField == "" && part.FileName() != "" {
			return nil, invalid(o.NoFile)
		}
		if o.ImageField == "" || name != o.ImageField {
			b, err := io.ReadAll(io.LimitReader(part, int64(o.MaxField)+1))
			if err != nil || len(b) > o.MaxField {
				return nil, invalid("表单字段过长")
			}
			f.Values.Add(name, string(b))
			continue
		}
		b, err := io.ReadAll(io.LimitReader(part, int64(o.MaxImage)+1))
		if err != nil {
			return nil, invalid("照片无法读取")
		}
		if len(b) == 0 {
			continue // the browser sends an empty part when no file was chosen
		}
		what := "照片"
		if o.Video {
			what = "照片或视频"
		}
		if len(b) > o.MaxImage {
			return nil, invalid(what + "不能超过 " + size(o.MaxImage))
		}
		ct := http.DetectContentType(b)
		ext, ok := imageTypes[ct]
		if !ok && o.Video {
			ext, ok = videoTypes[ct]
		}
		if !ok {
			if o.Video {
				return nil, invalid("照片须为 JPG、PNG、WebP 或 GIF 图片，视频须为 MP4 或 WebM")
			}
			return nil, invalid("照片须为 JPG、PNG、WebP 或 GIF 图片")
		}
		f.Image = &Image{Name: o.ImageField + ext, ContentType: ct, Data: b}
	}
}

// size writes n bytes as people read it: 4 MB, 512 KB.
func size(n int) string {
	if n >= 1<<20 && n%(1<<20) == 0 {
		return fmt.Sprintf("%d MB", n>>20)
	}
	return fmt.Sprintf("%d KB", n>>10)
}
