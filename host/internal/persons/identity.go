package persons

import (
	"encoding/base64"
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/opencitycode/citycode/host/internal/fault"
)

// CertType is the kind of certificate a person is identified by. The same
// values travel in codes and come back from verification.
type CertType string

// The certificate types of the mainland's city codes.
const (
	ResidentID    CertType = "RESIDENT_ID"   // 居民身份证
	Passport      CertType = "PASSPORT"      // 护照
	HKMacaoPermit CertType = "HK_MACAO"      // 港澳居民来往内地通行证 / 居住证
	TaiwanPermit  CertType = "TAIWAN"        // 台湾居民来往大陆通行证 / 居住证
	ForeignerPR   CertType = "FOREIGNER_PR"  // 外国人永久居留身份证
	SocialCredit  CertType = "SOCIAL_CREDIT" // 统一社会信用代码 (enterprises)
	OtherCert     CertType = "OTHER"
)

// certAliases accepts the spellings clients use besides the canonical names:
// the national standard's numeric codes (GA/T 517) and the common short ones.
var certAliases = map[string]CertType{
	"RESIDENT_ID": ResidentID, "ID_CARD": ResidentID, "IDCARD": ResidentID, "1": ResidentID, "01": ResidentID, "111": ResidentID,
	"PASSPORT": Passport, "414": Passport,
	"HK_MACAO": HKMacaoPermit, "516": HKMacaoPermit,
	"TAIWAN": TaiwanPermit, "511": TaiwanPermit,
	"FOREIGNER_PR": ForeignerPR, "553": ForeignerPR,
	"SOCIAL_CREDIT": SocialCredit, "USCC": SocialCredit,
	"OTHER": OtherCert, "990": OtherCert,
}

// ParseCertType returns the canonical CertType of s.
func ParseCertType(s string) (CertType, bool) {
	t, ok := certAliases[strings.ToUpper(strings.TrimSpace(s))]
	return t, ok
}

// Identity is the three (or four) elements an app sends about a person.
type Identity struct {
	Name     string   `json:"name"`
	CertType CertType `json:"certType"`
	CertNo   string   `json:"certNo"`
	Mobile   string   `json:"mobile,omitempty"`
}

// ParseUserExt decodes the manual's userExt: base64 (standard or URL
// alphabet, padded or not) of a JSON object {name, certType, certNo, mobile},
// and validates it.
func ParseUserExt(s string) (Identity, error) {
	s = strings.TrimSpace(s)
	var raw []byte
	var err error
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if raw, err = enc.DecodeString(s); err == nil {
			break
		}
	}
	if err != nil {
		return Identity{}, fault.Invalidf("parameter %q must be base64 of a JSON object", "userExt")
	}
	var in struct {
		Name     string `json:"name"`
		CertType any    `json:"certType"`
		CertNo   string `json:"certNo"`
		Mobile   string `json:"mobile"`
	}
	if err := json.Unmarshal(raw, &in); err != nil {
		return Identity{}, fault.Invalidf("parameter %q must be base64 of a JSON object with name, certType, certNo and mobile", "userExt")
	}
	ct := ""
	switch v := in.CertType.(type) {
	case string:
		ct = v
	case float64:
		ct = strconv.FormatFloat(v, 'f', -1, 64)
	case nil:
	default:
		return Identity{}, fault.Invalidf("userExt.certType must be a string")
	}
	id := Identity{Name: in.Name, CertNo: in.CertNo, Mobile: in.Mobile}
	if ct == "" {
		ct = string(ResidentID) // the manual's apps send three elements only: name, ID number, mobile
	}
	t, ok := ParseCertType(ct)
	if !ok {
		return Identity{}, fault.Invalidf("userExt.certType %q is not a known certificate type", ct)
	}
	id.CertType = t
	return id.normalized()
}

var (
	alnum    = regexp.MustCompile(`^[A-Z0-9]+$`)
	mobileRE = regexp.MustCompile(`^\+?[0-9]{6,15}$`)
)

// normalized trims and upper-cases what must compare exactly, and validates.
func (id Identity) normalized() (Identity, error) {
	id.Name = strings.TrimSpace(id.Name)
	id.CertNo = strings.ToUpper(strings.ReplaceAll(strings.TrimSpace(id.CertNo), " ", ""))
	id.Mobile = strings.ReplaceAll(strings.TrimSpace(id.Mobile), "-", "")
	switch {
	case id.Name == "":
		return id, fault.Missing("userExt.name")
	case utf8.RuneCountInString(id.Name) > 64:
		return id, fault.Invalidf("userExt.name is longer than 64 characters")
	case id.CertNo == "":
		return id, fault.Missing("userExt.certNo")
	case len(id.CertNo) > 32 || !alnum.MatchString(id.CertNo):
		return id, fault.Invalidf("userExt.certNo must be letters and digits only")
	case id.Mobile != "" && !mobileRE.MatchString(id.Mobile):
		return id, fault.Invalidf("userExt.mobile is not a telephone number")
	}
	switch id.CertType {
	case ResidentID:
		if !ValidResidentID(id.CertNo) {
			return id, fault.Invalidf("userExt.certNo is not a valid resident ID number (check digit)")
		}
	case SocialCredit:
		if !ValidSocialCreditCode(id.CertNo) {
			return id, fault.Invalidf("userExt.certNo is not a valid unified social credit code (check character)")
		}
	}
	return id, nil
}

// ValidResidentID checks an 18-character resident ID number: 17 digits and
// an ISO 7064 MOD 11-2 check character (GB 11643).
func ValidResidentID(s string) bool {
	if len(s) != 18 {
		return false
	}
	weights := [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i := 0; i < 17; i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return false
		}
		sum += int(c-'0') * weights[i]
	}
	return s[17] == "10X98765432"[sum%11]
}

// ValidSocialCreditCode checks an 18-character unified social credit code
// and its check character (GB 32100).
func ValidSocialCreditCode(s string) bool {
	const charset = "0123456789ABCDEFGHJKLMNPQRTUWXY"
	if len(s) != 18 {
		return false
	}
	weights := [17]int{1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28}
	sum := 0
	for i := 0; i < 17; i++ {
		v := strings.IndexByte(charset, s[i])
		if v < 0 {
			return false
		}
		sum += v * weights[i]
	}
	check := (31 - sum%31) % 31
	return s[17] == charset[check]
}

// Masked returns id with every element desensitized (脱敏) for display.
func (id Identity) Masked() Identity {
	return Identity{Name: MaskName(id.Name), CertType: id.CertType, CertNo: MaskCertNo(id.CertNo), Mobile: MaskMobile(id.Mobile)}
}

// MaskName keeps the first character (and the last of names of three or
// more): 张* , 张*丰, 欧**锋.
func MaskName(s string) string {
	r := []rune(s)
	switch len(r) {
	case 0:
		return ""
	case 1:
		return "*"
	case 2:
		return string(r[0]) + "*"
	}
	return string(r[0]) + strings.Repeat("*", len(r)-2) + string(r[len(r)-1])
}

// MaskCertNo keeps the first three and last four characters of long numbers
// (310***********123X) and the first and last of short ones.
func MaskCertNo(s string) string {
	if len(s) >= 10 {
		return s[:3] + strings.Repeat("*", len(s)-7) + s[len(s)-4:]
	}
	if len(s) <= 2 {
		return strings.Repeat("*", len(s))
	}
	return s[:1] + strings.Repeat("*", len(s)-2) + s[len(s)-1:]
}

// MaskMobile keeps the first three and last four digits: 138****5678.
func MaskMobile(s string) string {
	if len(s) >= 11 {
		return s[:len(s)-8] + "****" + s[len(s)-4:]
	}
	if len(s) <= 4 {
		return strings.Repeat("*", len(s))
	}
	return s[:2] + strings.Repeat("*", len(s)-4) + s[len(s)-2:]
}
