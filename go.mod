module github.com/minikv-go/minikv

go 1.26.8
