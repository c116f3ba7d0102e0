package env

import (
	"fmt"
	"io"
	"text/tabwriter"
)

// Var documents one environment variable a program reads.
type Var struct {
	Name, Default, Help string
	// Secret values are never logged or echoed in errors.
	Secret bool
}

// PrintVars writes vars as the table a program's `config` command shows.
func PrintVars(w io.Writer, vars []Var) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VARIABLE\tDEFAULT\tMEANING")
	for _, v := range vars {
		def := v.Default
		if def == "" {
			def = "(empty)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", v.Name, def, v.Help)
	}
	_ = tw.Flush()
}
