"""Go's text/template semantics, case by case: each expected output is what Go prints.

The cases are written from the Go documentation (text/template, fmt, encoding/json) and its
tests' conventions: JSON numbers decoded into interface{} are float64, a missing map key prints
"<no value>", comparisons of different kinds fail.
"""

from __future__ import annotations

from typing import Any

import pytest

from workers.dinghy.gotemplate import SPRIG, GoStruct, Limits, Template, TemplateError

DATA: dict[str, Any] = {
    "name": "app",
    "count": 3.0,  # as json.Unmarshal gives it
    "big": 1234567.0,
    "ratio": 0.5,
    "tiny": 0.00001,
    "list": ["a", "b", "c"],
    "empty": [],
    "map": {"b": 2.0, "a": 1.0},
    "nested": {"inner": {"value": "deep"}},
    "null": None,
    "yes": True,
    "html": "<a&b>",
}

RENDERS = [
    # text, actions, whitespace trimming, comments
    ("plain text", "plain text"),
    ("{{ .name }}", "app"),
    ("a  {{- .name -}}  b", "aappb"),
    ("a\n  {{- .name }}\n", "aapp\n"),
    ("x {{/* a comment */}} y", "x  y"),
    ("x {{- /* trimmed */ -}} y", "xy"),
    ("{{ .missing }}", "<no value>"),
    ("{{ .null }}", "<no value>"),
    ("{{ .nested.inner.value }}", "deep"),
    ("{{ .nested.nope.value }}", "<no value>"),
    # values print as fmt's %v
    ("{{ .count }} {{ .big }} {{ .ratio }} {{ .tiny }}", "3 1.234567e+06 0.5 1e-05"),
    ("{{ .list }} {{ .map }} {{ .empty }} {{ .yes }}", "[a b c] map[a:1 b:2] [] true"),
    ("{{ 3 }} {{ 2.50 }} {{ 1e3 }} {{ 0x1F }} {{ 'a' }} {{ -7 }}", "3 2.5 1000 31 97 -7"),
    ('{{ "esc\\t\\"q\\"" }} {{ `raw\\n` }}', 'esc\t"q" raw\\n'),
    # pipelines, parentheses, variables
    ('{{ .name | printf "%s-%s" "x" }}', "x-app"),
    ('{{ printf "%d|%5.1f|%-3s|%q|%v|%t|%x" 42 3.14159 "a" "b" .list true 255 }}', '42|  3.1|a  |"b"|[a b c]|true|ff'),
    ('{{ printf "%d" "s" }} {{ printf "%s" }} {{ printf "x" 1 }}', "%!d(string=s) %!s(MISSING) x%!(EXTRA int=1)"),
    ("{{ $x := 1 }}{{ $x }}{{ $x = 2 }}{{ $x }}", "12"),
    ("{{ $x := .name }}{{ with .nested }}{{ $x }}{{ .inner.value }}{{ end }}", "appdeep"),
    ("{{ (index .list 1) }}{{ (.nested).inner.value }}", "bdeep"),
    ("{{ $ := 1 }}", ""),
    # a variable lives until the end of the control structure that declares it; = changes the outer one
    ("{{ $x := 1 }}{{ if true }}{{ $x := 2 }}{{ $x }}{{ end }}{{ $x }}", "21"),
    ("{{ $x := 1 }}{{ if true }}{{ $x = 2 }}{{ end }}{{ $x }}", "2"),
    ("{{ $n := 0 }}{{ range .list }}{{ $n = len . }}{{ end }}{{ $n }}", "1"),
    ('{{ printf "%6.2f|%-6s|%06d|%+d" 3.14159 "ab" 42 5 }}', "  3.14|ab    |000042|+5"),
    ("{{ printf \"%x %X %o %c %q %v\" 255 255 8 65 'a' .ratio }}", "ff FF 10 A 'a' 0.5"),
    # if / else if / else, truth
    ("{{ if .yes }}y{{ else }}n{{ end }}", "y"),
    ("{{ if .empty }}y{{ else if .list }}list{{ else }}n{{ end }}", "list"),
    ('{{ if .missing }}y{{ else }}n{{ end }}{{ if 0 }}y{{ else }}n{{ end }}{{ if "" }}y{{ else }}n{{ end }}', "nnn"),
    ("{{ if $v := .name }}{{ $v }}{{ end }}", "app"),
    ("{{ with .missing }}x{{ else with .name }}{{ . }}{{ end }}", "app"),
    ("{{ with .nested.inner }}{{ .value }}{{ else }}none{{ end }}", "deep"),
    # range over lists, maps (sorted keys), ints, with else, break, continue
    ("{{ range .list }}[{{ . }}]{{ end }}", "[a][b][c]"),
    ("{{ range $i, $v := .list }}{{ $i }}={{ $v }};{{ end }}", "0=a;1=b;2=c;"),
    ("{{ range $k, $v := .map }}{{ $k }}:{{ $v }} {{ end }}", "a:1 b:2 "),
    ("{{ range .empty }}x{{ else }}none{{ end }}", "none"),
    ("{{ range .missing }}x{{ else }}none{{ end }}", "none"),
    ("{{ range 3 }}{{ . }}{{ end }}", "012"),
    (
        '{{ range .list }}{{ if eq . "b" }}{{ continue }}{{ end }}'
        '{{ if eq . "c" }}{{ break }}{{ end }}{{ . }}{{ end }}',
        "a",
    ),
    # comparisons and logic
    ('{{ eq .name "app" }} {{ ne .name "app" }} {{ eq .name "x" "y" "app" }}', "true false true"),
    ('{{ eq .count 3.0 }} {{ lt 1 2 }} {{ le 2 2 }} {{ gt "b" "a" }} {{ ge 1.5 2.5 }}', "true true true true false"),
    ("{{ eq .missing nil }}", "true"),
    ('{{ and 1 0 2 }} {{ and 1 2 }} {{ or 0 "" }} {{ or 0 "x" 1 }} {{ not .empty }}', "0 2  x true"),
    ("{{ and .missing .missing.deeper }}|{{ or .name (index .list 9) }}", "<no value>|app"),
    # len, index, slice, print
    ('{{ len .list }} {{ len .name }} {{ len .map }} {{ len "héllo" }}', "3 3 2 6"),
    ('{{ index .map "a" }} {{ index .nested "inner" "value" }} {{ index .map "zz" }}', "1 deep <no value>"),
    ("{{ slice .list 1 }} {{ slice .name 0 2 }}", "[b c] ap"),
    ('{{ print 1 2 "a" 3 "b" "c" }}|{{ println "x" 1 }}|', "1 2a3bc|x 1\n|"),
    ('{{ html .html }} {{ js "it\'s" }} {{ urlquery "a b&c" }}', "&lt;a&amp;b&gt; it\\'s a+b%26c"),
    # sprig
    ('{{ upper "ab" }} {{ lower "AB" }} {{ title "hello world" }} {{ trim "  x  " }}', "AB ab Hello World x"),
    ('{{ "a,b,c" | splitList "," | join "-" }}', "a-b-c"),
    (
        "{{ toJson .map }} {{ toJson .html }} {{ toJson .list }} {{ toJson .big }}",
        '{"a":1,"b":2} "\\u003ca\\u0026b\\u003e" ["a","b","c"] 1234567',
    ),
    ('{{ default "d" .missing }} {{ default "d" "" }} {{ default "d" "v" }} {{ .missing | default "p" }}', "d d v p"),
    ('{{ add 1 2 "3" }} {{ sub 5 2 }} {{ mul 2 3 }} {{ div 7 2 }} {{ mod 7 2 }} {{ max 1 5 3 }}', "6 3 6 3 1 5"),
    ('{{ list 1 "a" | toJson }} {{ dict "k" "v" "n" 1 | toJson }}', '[1,"a"] {"k":"v","n":1}'),
    (
        '{{ hasKey .map "a" }} {{ contains "pp" .name }} {{ hasPrefix "ap" .name }} {{ replace "p" "q" .name }}',
        "true true true aqq",
    ),
    (
        '{{ quote .name 1 }} {{ squote .name }} {{ cat "a" 1 "b" }} {{ indent 2 "x\\ny" }}',
        '"app" "1" \'app\' a 1 b   x\n  y',
    ),
    (
        '{{ first .list }} {{ last .list }} {{ rest .list }} {{ initial .list }} {{ append .list "d" }}',
        "a c [b c] [a b] [a b c d]",
    ),
    ('{{ until 3 }} {{ ternary "y" "n" true }} {{ empty .empty }} {{ coalesce "" .missing "z" }}', "[0 1 2] y true z"),
    (
        '{{ b64enc "hi" }} {{ b64dec "aGk=" }} {{ regexMatch "^a.p$" .name }} {{ regexReplaceAll "p+" .name "P" }}',
        "aGk= hi true aP",
    ),
    ("{{ toPrettyJson .nested }}", '{\n  "inner": {\n    "value": "deep"\n  }\n}'),
    (
        '{{ merge (dict "a" 1) (dict "a" 2 "b" 3) | toJson }} {{ mergeOverwrite (dict "a" 1) (dict "a" 2) | toJson }}',
        '{"a":1,"b":3} {"a":2}',
    ),
    (
        '{{ dig "inner" "value" "d" .nested }} {{ dig "inner" "nope" "d" .nested }} {{ pick .map "a" | toJson }}',
        'deep d {"a":1}',
    ),
    (
        '{{ omit .map "a" | toJson }} {{ date "2006-01-02T15:04:05Z07:00 Mon Jan _2" 86400 }}',
        '{"b":2} 1970-01-02T00:00:00Z Fri Jan  2',
    ),
    ('{{ len uuidv4 }} {{ randAlphaNum 8 | len }} {{ required "x" .name }}', "36 8 app"),
]


@pytest.mark.parametrize(("text", "expected"), RENDERS)
def test_renders_as_go(text: str, expected: str) -> None:
    assert Template.parse("t", text, SPRIG).execute(DATA) == expected


ERRORS = [
    # (template, line, column, message fragment)
    ("{{ nope }}", 1, 4, 'function "nope" not defined'),
    ("a\n\n  {{ $y }}", 3, 6, 'undefined variable "$y"'),
    ("{{ if .yes }}x", 1, 4, "unexpected EOF"),
    ("{{ end }}", 1, 4, "unexpected {{end}}"),
    ("x {{ .name ", 1, 3, "unclosed action"),
    ("{{ .name | 3 }}", 1, 12, "non executable command in pipeline stage 2"),
    ('{{ "abc }}', 1, 4, "unterminated quoted string"),
    ("{{ if }}{{ end }}", 1, 7, "missing value for if"),
    ("{{ break }}", 1, 4, "{{break}} outside {{range}}"),
    ("{{ .name.x }}", 1, 4, "can't evaluate field x in type string"),
    ("{{ .null.x }}", 1, 4, "nil pointer evaluating interface {}.x"),
    ("{{ eq .count 3 }}", 1, 4, "error calling eq: incompatible types for comparison"),
    ("line1\n{{ upper 3 }}", 2, 10, "expected string; found 3"),
    ("{{ upper .count }}", 1, 10, "wrong type for value; expected string; got float64"),
    ("{{ index .list 5 }}", 1, 4, "error calling index: index out of range: 5"),
    ("{{ len 3 }}", 1, 4, "error calling len: len of type int"),
    ("{{ upper }}", 1, 4, "wrong number of args for upper: want 1 got 0"),
    ("{{ range .name }}{{ end }}", 1, 4, "range can't iterate over app"),
    ("{{ 3 4 }}", 1, 4, "can't give argument to non-function 3"),
    ('{{ define "x" }}{{ end }}', 1, 4, "{{define}} is not supported"),
    ("{{ range $i, $e := .list }}{{ end }}{{ $i }}", 1, 40, 'undefined variable "$i"'),
    ("{{ index .list -1 }}", 1, 4, "index out of range: -1"),
    ('{{ required "name is required" .missing }}', 1, 4, "error calling required: name is required"),
    ('{{ fail "stop here" }}', 1, 4, "error calling fail: stop here"),
]


@pytest.mark.parametrize(("text", "line", "column", "message"), ERRORS)
def test_errors_name_line_column_and_cause(text: str, line: int, column: int, message: str) -> None:
    with pytest.raises(TemplateError) as caught:
        Template.parse("dinghyfile", text, SPRIG).execute(DATA)
    assert (caught.value.line, caught.value.column) == (line, column), str(caught.value)
    assert message in str(caught.value)
    assert str(caught.value).startswith(f"template: dinghyfile:{line}:{column}: ")


def test_fields_of_a_struct_and_unknown_fields() -> None:
    info = GoStruct("git.GitInfo", {"RawData": {"ref": "refs/heads/main"}, "Branch": "main"})
    template = Template.parse("t", "{{ .Branch }} {{ .RawData.ref }}")
    assert template.execute(info) == "main refs/heads/main"
    with pytest.raises(TemplateError, match=r"can't evaluate field Nope in type git\.GitInfo"):
        Template.parse("t", "{{ .Nope }}").execute(info)


def test_limits_bound_output_steps_and_size() -> None:
    with pytest.raises(TemplateError, match="output is larger than 100 bytes"):
        Template.parse("t", "{{ range 200 }}x{{ end }}").execute(None, Limits(max_output=100))
    with pytest.raises(TemplateError, match="more than 1000 steps"):
        Template.parse("t", "{{ range 10000 }}{{ end }}").execute(None, Limits(max_steps=1000))
    with pytest.raises(TemplateError, match="nested deeper than 100"):
        Template.parse("t", "{{ if 1 }}" * 101 + "{{ end }}" * 101)
    with pytest.raises(TemplateError, match="larger than"):
        Template.parse("t", "x" * (1024 * 1024 + 1))
