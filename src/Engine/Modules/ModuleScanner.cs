namespace LeanProxy.Engine.Modules;

/// <summary>One module specifier in a source file, where it is written (1-based line and column of its opening quote).</summary>
public readonly record struct ImportSpecifier(string Specifier, int Line, int Column, bool Dynamic);

/// <summary>What a scan found: the specifiers of static and literal dynamic imports, and whether the file is an ES module.</summary>
public sealed record ModuleScan(IReadOnlyList<ImportSpecifier> Imports, bool HasModuleSyntax, bool LooksCommonJs);

/// <summary>
/// Finds the module specifiers of a JavaScript file without running it: <c>import … from "x"</c>, <c>import "x"</c>,
/// <c>export … from "x"</c> and <c>import("x")</c> with a string literal. A small lexer skips comments, strings, template
/// literals (with nested <c>${…}</c>) and regular-expression literals, so that text inside them is never taken for an
/// import. Non-literal dynamic imports (<c>import(name)</c>) cannot be known and are not reported.
/// </summary>
public static partial class ModuleScanner
{
    public static ModuleScan Scan(string source)
    {
        var scanner = new State(source);
        scanner.Run();
        var lineStarts = LineStarts(source);
        var imports = scanner.Found.Select(f =>
        {
            var line = UpperBound(lineStarts, f.Position);
            return new ImportSpecifier(f.Specifier, line, f.Position - lineStarts[line - 1] + 1, f.Dynamic);
        }).ToList();
        var commonJs = !scanner.ModuleSyntax && (source.Contains("module.exports", StringComparison.Ordinal) || source.Contains("exports.",
            StringComparison.Ordinal) || source.Contains("require(", StringComparison.Ordinal));
        return new ModuleScan(imports, scanner.ModuleSyntax, commonJs);
    }

    private static List<int> LineStarts(string source)
    {
        var starts = new List<int> { 0 };
        for (var i = 0; i < source.Length; i++)
        {
            if (source[i] == '\n')
            {
                starts.Add(i + 1);
            }
        }

        return starts;
    }

    /// <summary>The 1-based line holding <paramref name="position"/>.</summary>
    private static int UpperBound(List<int> starts, int position)
    {
        var index = starts.BinarySearch(position);
        return index >= 0 ? index + 1 : ~index;
    }

    private sealed partial class State(string source)
    {
        private readonly string _s = source;
        private int _i;

        // What the last significant token was, to tell a regular expression from a division.
        private bool _slashIsDivision;

        // The last character of the last token (comments and whitespace are not tokens): '.' before `import` is a member.
        private char _previous;

        private char _previousBeforeToken;

        public List<(string Specifier, int Position, bool Dynamic)> Found { get; } = [];

        public bool ModuleSyntax { get; private set; }

        public void Run() => Code(stopAtBrace: false);

        /// <summary>Scans code until the end, or (inside a template's <c>${</c>) until its closing brace.</summary>
        private void Code(bool stopAtBrace)
        {
            var depth = 0;
            while (_i < _s.Length)
            {
                var c = _s[_i];
                if (char.IsWhiteSpace(c))
                {
                    _i++;
                    continue;
                }

                if (c == '/' && Peek(1) == '/')
                {
                    SkipLineComment();
                    continue;
                }

                if (c == '/' && Peek(1) == '*')
                {
                    SkipBlockComment();
                    continue;
                }

                _previousBeforeToken = _previous;
                _previous = c;
                switch (c)
                {
                    case '"' or '\'':
                        SkipString(c);
                        _slashIsDivision = true;
                        continue;
                    case '`':
                        Template();
                        _slashIsDivision = true;
                        continue;
                    case '/':
                        if (_slashIsDivision)
                        {
                            _i++;
                            _slashIsDivision = false;
                        }
                        else
                        {
                            SkipRegex();
                            _slashIsDivision = true;
                        }

                        continue;
                    case '{':
                        depth++;
                        _i++;
                        _slashIsDivision = false;
                        continue;
                    case '}':
                        if (stopAtBrace && depth == 0)
                        {
                            _i++;
                            return;
                        }

                        depth--;
                        _i++;
                        _slashIsDivision = true; // `}` ending a block is followed by a statement; as an approximation, division
                        continue;
                    case ')' or ']':
                        _i++;
                        _slashIsDivision = true;
                        continue;
                }

                if (IsIdentifierStart(c))
                {
                    var afterDot = _previousBeforeToken == '.';
                    var word = ReadIdentifier();
                    if (!afterDot && word == "import")
                    {
                        Import();
                    }
                    else if (!afterDot && word == "export")
                    {
                        ModuleSyntax = true;
                        Export();
                    }

                    // After a keyword that ends in an expression position, a slash starts a regular expression.
                    _slashIsDivision = word
                        is not ("return" or "typeof" or "instanceof" or "in" or "of" or "new" or "delete" or "void" or "throw" or "case" or "do" or "else"
                            or "yield" or "await");
                    continue;
                }

                if (char.IsDigit(c))
                {
                    while (_i < _s.Length && (char.IsLetterOrDigit(_s[_i]) || _s[_i] is '.' or '_'))
                    {
                        _i++;
                    }

                    _slashIsDivision = true;
                    continue;
                }

                _i++;
                _slashIsDivision = false;
            }
        }

        private void Import()
        {
            SkipTrivia();
            if (_i >= _s.Length)
            {
                return;
            }

            var c = _s[_i];
            if (c == '(')
            {
                // import("x"): literal dynamic import.
                _i++;
                SkipTrivia();
                if (_i < _s.Length && _s[_i] is '"' or '\'' && ReadString() is { } dynamic)
                {
                    Found.Add((dynamic.Value, dynamic.Position, true));
                }

                _slashIsDivision = false;
                return;
            }

            if (c == '.')
            {
                return; // import.meta
            }

            ModuleSyntax = true;
            if (c is '"' or '\'')
            {
                if (ReadString() is { } bare)
                {
                    Found.Add((bare.Value, bare.Position, false));
                }

                return;
            }

            FromClause();
        }

        private void Export()
        {
            SkipTrivia();
            if (_i < _s.Length && _s[_i] is '*' or '{')
            {
                FromClause();
            }
        }

        /// <summary>Reads an import or export clause (<c>x, { a as b }</c>, <c>* as ns</c>, <c>*</c>) and the <c>from "x"</c> after it, if any.</summary>
        private void FromClause()
        {
            for (var guard = 0; guard < 64 && _i < _s.Length; guard++)
            {
                SkipTrivia();
                if (_i >= _s.Length)
                {
                    return;
                }

                var c = _s[_i];
                if (c == '{')
                {
                    SkipBracedClause();
                    continue;
                }

                if (c is '*' or ',')
                {
                    _i++;
                    continue;
                }

                if (IsIdentifierStart(c))
                {
                    var word = ReadIdentifier();
                    if (word == "from")
                    {
                        SkipTrivia();
                        if (_i < _s.Length && _s[_i] is '"' or '\'' && ReadString() is { } from)
                        {
                            Found.Add((from.Value, from.Position, false));
                        }

                        return;
                    }

                    continue; // a binding name, "as", "type"
                }

                return; // anything else: not (or no longer) an import clause
            }
        }

        private void SkipBracedClause()
        {
            _i++;
            while (_i < _s.Length && _s[_i] != '}')
            {
                if (_s[_i] is '"' or '\'')
                {
                    SkipString(_s[_i]);
                    continue;
                }

                if (_s[_i] == '/' && Peek(1) is '/' or '*')
                {
                    if (Peek(1) == '/')
                    {
                        SkipLineComment();
                    }
                    else
                    {
                        SkipBlockComment();
                    }

                    continue;
                }

                _i++;
            }

            _i++;
        }
    }
}
