using Microsoft.Extensions.Logging;

namespace LeanProxy.Engine.Apps;

/// <summary>
/// An app version's logger: every entry carries the app and its version as a scope, so that a structured log (the
/// host's <c>--log-format json</c>) has them as fields beside the message's own (tab, request id).
/// </summary>
internal sealed class AppLogger(ILogger inner, string app, string? version) : ILogger
{
    private readonly Scope _scope = new(app, version);

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => inner.BeginScope(state);

    public bool IsEnabled(LogLevel logLevel) => inner.IsEnabled(logLevel);

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        using (inner.BeginScope(_scope))
        {
            inner.Log(logLevel, eventId, state, exception, formatter);
        }
    }

    /// <summary>The fields of the scope, and its text for formatters that print scopes as text.</summary>
    private sealed class Scope(string app, string? version) : IReadOnlyList<KeyValuePair<string, object?>>
    {
        private readonly KeyValuePair<string, object?>[] _fields = [new("App", app), new("Version", version)];

        public int Count => _fields.Length;

        public KeyValuePair<string, object?> this[int index] => _fields[index];

        public IEnumerator<KeyValuePair<string, object?>> GetEnumerator() => ((IEnumerable<KeyValuePair<string, object?>>)_fields).GetEnumerator();

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();

        public override string ToString() => $"app {app} version {version}";
    }
}
