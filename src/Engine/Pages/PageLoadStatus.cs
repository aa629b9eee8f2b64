namespace LeanProxy.Engine.Pages;

/// <summary>How loading the app in a page went (the bootstrap page's <c>__lpStatus()</c>): ready with its exports, or the error.</summary>
internal sealed record PageLoadStatus(
    string T,
    Dictionary<string, bool>? Exports = null,
    string? Message = null,
    string? File = null,
    int Line = 0,
    int Column = 0,
    string? Stack = null);
