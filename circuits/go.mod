module github.com/aep2/aep2/circuits

go 1.25
