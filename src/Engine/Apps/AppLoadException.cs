namespace LeanProxy.Engine.Apps;

/// <summary>The app's module could not be loaded in a tab: a syntax error, a top-level throw, a missing import or export.</summary>
public sealed class AppLoadException(string message) : Exception(message);

/// <summary>The app lacks an export a configured listener needs (exit code 2 in the CLI).</summary>
public sealed class MissingExportException(string[] missing, string message) : Exception(message)
{
    public IReadOnlyList<string> Missing { get; } = missing;
}
