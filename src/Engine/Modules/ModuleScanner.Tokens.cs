namespace LeanProxy.Engine.Modules;

/// <summary>The scanner's tokens: strings, templates, regular expressions, comments and identifiers, skipped or read.</summary>
public static partial class ModuleScanner
{
    private sealed partial class State
    {
        private (string Value, int Position)? ReadString()
        {
            var quote = _s[_i];
            var start = _i;
            var text = new System.Text.StringBuilder();
            _i++;
            while (_i < _s.Length && _s[_i] != quote)
            {
                if (_s[_i] == '\\' && _i + 1 < _s.Length)
                {
                    text.Append(_s[_i + 1]);
                    _i += 2;
                    continue;
                }

                if (_s[_i] == '\n')
                {
                    return null;
                }

                text.Append(_s[_i]);
                _i++;
            }

            _i++;
            return (text.ToString(), start);
        }

        private void SkipString(char quote)
        {
            _i++;
            while (_i < _s.Length && _s[_i] != quote && _s[_i] != '\n')
            {
                _i += _s[_i] == '\\' ? 2 : 1;
            }

            _i++;
        }

        private void Template()
        {
            _i++;
            while (_i < _s.Length && _s[_i] != '`')
            {
                if (_s[_i] == '\\')
                {
                    _i += 2;
                    continue;
                }

                if (_s[_i] == '$' && Peek(1) == '{')
                {
                    _i += 2;
                    _slashIsDivision = false;
                    Code(stopAtBrace: true);
                    continue;
                }

                _i++;
            }

            _i++;
        }

        private void SkipRegex()
        {
            _i++;
            var inClass = false;
            while (_i < _s.Length && _s[_i] != '\n')
            {
                var c = _s[_i];
                if (c == '\\')
                {
                    _i += 2;
                    continue;
                }

                if (c == '[')
                {
                    inClass = true;
                }
                else if (c == ']')
                {
                    inClass = false;
                }
                else if (c == '/' && !inClass)
                {
                    _i++;
                    while (_i < _s.Length && char.IsLetter(_s[_i]))
                    {
                        _i++; // flags
                    }

                    return;
                }

                _i++;
            }
        }

        private void SkipLineComment()
        {
            while (_i < _s.Length && _s[_i] != '\n')
            {
                _i++;
            }
        }

        private void SkipBlockComment()
        {
            var end = _s.IndexOf("*/", _i + 2, StringComparison.Ordinal);
            _i = end < 0 ? _s.Length : end + 2;
        }

        private void SkipTrivia()
        {
            while (_i < _s.Length)
            {
                if (char.IsWhiteSpace(_s[_i]))
                {
                    _i++;
                }
                else if (_s[_i] == '/' && Peek(1) == '/')
                {
                    SkipLineComment();
                }
                else if (_s[_i] == '/' && Peek(1) == '*')
                {
                    SkipBlockComment();
                }
                else
                {
                    return;
                }
            }
        }

        private string ReadIdentifier()
        {
            var start = _i;
            while (_i < _s.Length && (char.IsLetterOrDigit(_s[_i]) || _s[_i] is '_' or '$'))
            {
                _i++;
            }

            return _s[start.._i];
        }

        private char Peek(int offset) => _i + offset < _s.Length ? _s[_i + offset] : '\0';

        private static bool IsIdentifierStart(char c) => char.IsLetter(c) || c is '_' or '$';
    }
}
