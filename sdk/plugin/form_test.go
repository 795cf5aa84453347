package plugin_test

import (
	"bytes"
	"errors"
	"mime/multipart"
	"strings"
	"testing"

	"github.com/opencitycode/citycode/sdk/plugin"
)

func multipartReq(t *testing.T, fields map[string]string, file string, data []byte) *plugin.Request {
	t.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	for k, v := range fields {
		_ = w.WriteField(k, v)
	}
	if file != "" {
		fw, _ := w.CreateFormFile(file, "x.bin")
		_, _ = fw.Write(data)
	}
	_ = w.Close()
	return &plugin.Request{Header: map[string]string{"Content-Type": w.FormDataContentType()}, Body: b.Bytes()}
}

func TestReadForm(t *testing.T) {
	png := append([]byte("\x89PNG\r\n\x1a\n"), make([]byte, 64)...)
	photo := plugin.FormOptions{ImageField: "photo", MaxImage: 1 << 10}
	refused := func(req *plugin.Request, o plugin.FormOptions, want string) {
		t.Helper()
		_, err := plugin.ReadForm(req, o)
		var pe *plugin.Error
		if !errors.As(err, &pe) || pe.Code != plugin.ErrInvalid || !strings.Contains(pe.Message, want) {
			t.Errorf("want %q refused, got %v", want, err)
		}
	}

	f, err := plugin.ReadForm(&plugin.Request{Body: []byte("a=1&b=%E6%B0%B4")}, plugin.FormOptions{})
	if err != nil || f.Values.Get("a") != "1" || f.Values.Get("b") != "水" || f.Image != nil {
		t.Fatalf("urlencoded: %+v %v", f, err)
	}
	f, err = plugin.ReadForm(multipartReq(t, map[string]string{"note": "好"}, "photo", png), photo)
	if err != nil || f.Values.Get("note") != "好" || f.Image == nil || f.Image.Name != "photo.png" || f.Image.ContentType != "image/png" {
		t.Fatalf("multipart with a photo: %+v %v", f, err)
	}
	if f, err := plugin.ReadForm(multipartReq(t, nil, "photo", nil), photo); err != nil || f.Image != nil {
		t.Fatalf("no file chosen: %+v %v", f, err)
	}
	refused(multipartReq(t, nil, "photo", []byte("%PDF-1.4")), photo, "照片须为")

	// A video only where the form takes one; recognised by content.
	mp4 := append([]byte("\x00\x00\x00\x18ftypmp42"), make([]byte, 64)...)
	refused(multipartReq(t, nil, "photo", mp4), photo, "照片须为 JPG")
	video := plugin.FormOptions{ImageField: "media", MaxImage: 1 << 10, Video: true}
	f, err = plugin.ReadForm(multipartReq(t, nil, "media", mp4), video)
	if err != nil || f.Image == nil || f.Image.Name != "media.mp4" || f.Image.ContentType != "video/mp4" || !f.Image.IsVideo() {
		t.Fatalf("video: %+v %v", f, err)
	}
	if f, err := plugin.ReadForm(multipartReq(t, nil, "media", png), video); err != nil || f.Image.IsVideo() {
		t.Fatalf("photo in a video form: %+v %v", f, err)
	}
	refused(multipartReq(t, nil, "media", []byte("%PDF-1.4")), video, "视频须为 MP4 或 WebM")
	refused(multipartReq(t, nil, "media", append(mp4, make([]byte, 1<<10)...)), video, "照片或视频不能超过 1 KB")
	refused(multipartReq(t, nil, "photo", append(png, make([]byte, 1<<10)...)), photo, "照片不能超过 1 KB")
	refused(multipartReq(t, nil, "attachment", png), plugin.FormOptions{NoFile: "登记无需上传文件"}, "登记无需上传文件")
	refused(multipartReq(t, map[string]string{"note": strings.Repeat("x", 100)}, "", nil), plugin.FormOptions{MaxField: 10}, "表单字段过长")
	refused(&plugin.Request{Header: map[string]string{"Content-Type": "application/json"}, Body: []byte("{}")}, photo, "请以表单")
	refused(&plugin.Request{Header: map[string]string{"Content-Type": "multipart/form-data"}, Body: []byte("x")}, photo, "boundary")
}
