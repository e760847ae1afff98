// The benchmark's ToolHive peer: Stacklok ToolHive's proxy runner in front of a remote MCP server,
// with Cedar authorization allowing only the tools named on the command line. It builds the
// RunConfig the way ToolHive's Kubernetes proxy runner receives it (a remote URL, streamable HTTP,
// an authorization config, optionally audit) and runs ToolHive's own runner, so the requests go
// through ToolHive's middleware chain and transport unchanged. `thv run URL` needs a container
// runtime and `thv proxy` has no authorization option, hence this program.
//
//	toolhive-proxy -upstream http://127.0.0.1:8080/mcp -port 9090 -allow resume_execution,list_executions [-audit]
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/stacklok/toolhive/pkg/authz"
	"github.com/stacklok/toolhive/pkg/runner"
	"github.com/stacklok/toolhive/pkg/workloads/statuses"
)

// version is the ToolHive release this program is built against (go.mod pins the same one).
const version = "0.47.0"

func main() {
	upstream := flag.String("upstream", "", "URL of the remote MCP server (streamable HTTP)")
	port := flag.Int("port", 0, "port to listen on (127.0.0.1)")
	allow := flag.String("allow", "", "comma-separated tool names Cedar permits to call; every other tool is denied")
	audit := flag.Bool("audit", false, "write ToolHive's audit events to stdout")
	showVersion := flag.Bool("version", false, "print the ToolHive version and exit")
	flag.Parse()
	if *showVersion {
		fmt.Printf("toolhive-proxy toolhive v%s\n", version)
		return
	}
	if *upstream == "" || *port == 0 || *allow == "" {
		fmt.Fprintln(os.Stderr, "toolhive-proxy: -upstream, -port and -allow are required")
		os.Exit(2)
	}
	if err := run(*upstream, *port, strings.Split(*allow, ","), *audit); err != nil {
		fmt.Fprintf(os.Stderr, "toolhive-proxy: %v\n", err)
		os.Exit(1)
	}
}

// cedarConfig permits tools/call of each allowed tool for any principal; Cedar denies by default.
func cedarConfig(tools []string) (*authz.Config, error) {
	policies := make([]string, 0, len(tools))
	for _, tool := range tools {
		policies = append(policies, fmt.Sprintf(`permit(principal, action == Action::"call_tool", resource == Tool::%q);`, tool))
	}
	raw, err := json.Marshal(map[string]any{
		"version": "1.0",
		"type":    "cedarv1",
		"cedar":   map[string]any{"policies": policies, "entities_json": "[]"},
	})
	if err != nil {
		return nil, err
	}
	var config authz.Config
	if err := json.Unmarshal(raw, &config); err != nil {
		return nil, err
	}
	return &config, config.Validate()
}

func run(upstream string, port int, tools []string, audit bool) error {
	// No telemetry sent home and no update checks from a benchmark.
	_ = os.Setenv("TOOLHIVE_USAGE_METRICS_ENABLED", "false")
	_ = os.Setenv("TOOLHIVE_SKIP_UPDATE_CHECK", "true")
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	authzConfig, err := cedarConfig(tools)
	if err != nil {
		return fmt.Errorf("cedar config: %w", err)
	}
	config, err := runner.NewOperatorRunConfigBuilder(ctx, nil, nil, nil,
		runner.WithName("bench"),
		runner.WithRemoteURL(upstream),
		runner.WithHost("127.0.0.1"),
		runner.WithTransportAndPorts("streamable-http", port, 0),
		runner.WithAuthzConfig(authzConfig),
		runner.WithAuditEnabled(audit, ""),
	)
	if err != nil {
		return fmt.Errorf("run config: %w", err)
	}
	return runner.NewRunner(config, statuses.NewNoopStatusManager()).Run(ctx)
}
