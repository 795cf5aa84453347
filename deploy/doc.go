// Package deploy holds the scripts that run the platform outside of Go: the
// private PostgreSQL launcher (pg-local.sh), the environment resolver used
// by make run and make test (env.sh), and make run itself (run.sh). Its Go
// tests run those scripts the way a newcomer would.
package deploy
