namespace LeanProxy.Engine;

/// <summary>The app's module could not be loaded in a tab: a syntax error, a top-level throw, a missing import or export.</summary>
public sealed class AppLoadException(string message) : Exception(message);
