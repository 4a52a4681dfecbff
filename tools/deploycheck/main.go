// deploycheck validates inferd's container files offline, with the same libraries
// Docker itself uses, since no Docker engine runs where the tests do:
//
//	deploycheck compose FILE [ENV_FILE]  loads a Compose file with compose-go (the loader
//	                                      of `docker compose`): schema, interpolation,
//	                                      references; prints the resolved project as JSON
//	deploycheck dockerfile FILE          parses a Dockerfile with BuildKit's parser and
//	                                      the checks it runs while parsing; prints the
//	                                      stages and instructions as JSON
//	deploycheck context DIR              lists the files a build of DIR sends to the
//	                                      builder, after DIR/.dockerignore (BuildKit's
//	                                      pattern matcher), as a JSON array
//
// Exit status 1 with the problems on stderr when a file does not pass.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

func main() {
	if len(os.Args) < 3 {
		fail("usage: deploycheck compose FILE [ENV_FILE] | deploycheck dockerfile FILE")
	}
	var out any
	var err error
	switch os.Args[1] {
	case "compose":
		out, err = checkCompose(os.Args[2], os.Args[3:])
	case "dockerfile":
		out, err = checkDockerfile(os.Args[2])
	case "context":
		out, err = listContext(os.Args[2])
	default:
		err = fmt.Errorf("unknown check %q", os.Args[1])
	}
	if err != nil {
		fail(err.Error())
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		fail(err.Error())
	}
}

func fail(msg string) {
	fmt.Fprintln(os.Stderr, "deploycheck: "+msg)
	os.Exit(1)
}

func checkCompose(file string, envFiles []string) (any, error) {
	abs, err := filepath.Abs(file)
	if err != nil {
		return nil, err
	}
	options, err := cli.NewProjectOptions([]string{abs},
		cli.WithWorkingDirectory(filepath.Dir(abs)),
		cli.WithEnvFiles(envFiles...),
		cli.WithDotEnv,
		cli.WithOsEnv,
		cli.WithName("inferd"),
	)
	if err != nil {
		return nil, err
	}
	project, err := options.LoadProject(context.Background())
	if err != nil {
		return nil, err
	}
	return project, nil
}

type stage struct {
	Name         string   `json:"name"`
	Base         string   `json:"base"`
	Instructions []string `json:"instructions"`
}

func checkDockerfile(file string) (any, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	ast, err := parser.Parse(f)
	if err != nil {
		return nil, err
	}
	var problems []string
	for _, w := range ast.Warnings {
		problems = append(problems, fmt.Sprintf("line %d: %s", w.Location.Start.Line, w.Short))
	}
	lint := linter.New(&linter.Config{
		Warn: func(rule, description, url, msg string, location []parser.Range) {
			line := 0
			if len(location) > 0 {
				line = location[0].Start.Line
			}
			problems = append(problems, fmt.Sprintf("line %d: %s: %s", line, rule, msg))
		},
	})
	stages, metaArgs, err := instructions.Parse(ast.AST, lint)
	if err != nil {
		return nil, err
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("%s", strings.Join(problems, "\n"))
	}
	result := struct {
		Args   []string `json:"args"`
		Stages []stage  `json:"stages"`
	}{}
	for _, a := range metaArgs {
		for _, kv := range a.Args {
			result.Args = append(result.Args, kv.Key)
		}
	}
	for _, s := range stages {
		st := stage{Name: s.Name, Base: s.BaseName}
		for _, c := range s.Commands {
			st.Instructions = append(st.Instructions, c.(fmt.Stringer).String())
		}
		result.Stages = append(result.Stages, st)
	}
	return result, nil
}

func listContext(dir string) (any, error) {
	var patterns []string
	if f, err := os.Open(filepath.Join(dir, ".dockerignore")); err == nil {
		patterns, err = ignorefile.ReadAll(f)
		f.Close()
		if err != nil {
			return nil, err
		}
	}
	pm, err := patternmatcher.New(patterns)
	if err != nil {
		return nil, err
	}
	files := []string{}
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil || rel == "." {
			return err
		}
		excluded, err := pm.MatchesOrParentMatches(filepath.ToSlash(rel))
		if err != nil {
			return err
		}
		if d.IsDir() {
			if excluded && !pm.Exclusions() {
				return filepath.SkipDir
			}
			return nil
		}
		if !excluded {
			files = append(files, filepath.ToSlash(rel))
		}
		return nil
	})
	return files, err
}
