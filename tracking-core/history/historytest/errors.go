package historytest

import "errors"

func asError[T error](err error, target *T) bool { return err != nil && errors.As(err, target) }
