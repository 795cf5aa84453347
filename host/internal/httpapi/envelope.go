package httpapi

import (
	"encoding/json"
	"net/http"

	"github.com/opencitycode/citycode/host/internal/fault"
)

// Envelope is the shape of every API answer, from the source manual:
// {"Response": {"Data": ..., "Error": {"Code", "Message"}, "RequestId": "..."}}.
// Error is absent on success; Data is absent on failure.
type Envelope struct {
	Response EnvelopeBody `json:"Response"`
}

// EnvelopeBody is the inside of an Envelope.
type EnvelopeBody struct {
	Data      any        `json:"Data,omitempty"`
	Error     *ErrorBody `json:"Error,omitempty"`
	RequestID string     `json:"RequestId"`
}

// ErrorBody is the error part of an Envelope.
type ErrorBody struct {
	Code    string `json:"Code"`
	Message string `json:"Message"`
}

// Status maps a Kind to its HTTP status. This is the only place that does.
func Status(k fault.Kind) int {
	switch k {
	case fault.Invalid:
		return http.StatusBadRequest
	case fault.Unauthenticated:
		return http.StatusUnauthorized
	case fault.Denied:
		return http.StatusForbidden
	case fault.NotFound:
		return http.StatusNotFound
	case fault.Conflict:
		return http.StatusConflict
	case fault.Limited:
		return http.StatusTooManyRequests
	case fault.Unavailable:
		return http.StatusServiceUnavailable
	default:
		return http.StatusInternalServerError
	}
}

// errorBody turns err into what the client sees: the fault's code and
// message, or a generic internal error that reveals nothing.
func errorBody(err error) (int, *ErrorBody) {
	if fe, ok := fault.As(err); ok && fe.Kind != fault.Internal {
		return Status(fe.Kind), &ErrorBody{Code: fe.Code, Message: fe.Message}
	}
	return http.StatusInternalServerError, &ErrorBody{
		Code:    fault.CodeInternalError,
		Message: "internal error; quote the RequestId when reporting it",
	}
}

func marshalEnvelope(data any, eb *ErrorBody, requestID string) []byte {
	b, err := json.Marshal(Envelope{Response: EnvelopeBody{Data: data, Error: eb, RequestID: requestID}})
	if err != nil {
		// Data that cannot be encoded is a programming error; answer an
		// internal error rather than a broken body.
		b, _ = json.Marshal(Envelope{Response: EnvelopeBody{
			Error:     &ErrorBody{Code: fault.CodeInternalError, Message: "internal error: unencodable answer"},
			RequestID: requestID,
		}})
	}
	return b
}
