// Command gomamba runs Mamba-family models (Vision Mamba, VMamba, the Mamba
// language model) on CPU and NVIDIA GPUs.
//
// Each subcommand lives in its own file and registers itself on rootCmd in an
// init function.
package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	_ "github.com/gomamba/gomamba/vision/builtin" // the embedded default model
)

var rootCmd = &cobra.Command{
	Use:           "gomamba",
	Short:         "Run Mamba-family models (Vim, VMamba, Mamba LM) on CPU and GPU",
	SilenceUsage:  true,
	SilenceErrors: true,
}

func main() {
	if err := rootCmd.Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "gomamba:", err)
		os.Exit(1)
	}
}
