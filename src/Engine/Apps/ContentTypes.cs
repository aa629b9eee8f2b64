namespace LeanProxy.Engine.Apps;

/// <summary>MIME types for the files of an app, as the page server sends them (modules need a JavaScript type).</summary>
internal static class ContentTypes
{
    public const string JavaScript = "text/javascript; charset=utf-8";

    public static string For(string path) => Path.GetExtension(path).ToLowerInvariant() switch
    {
        ".js" or ".mjs" or ".cjs" => JavaScript,
        ".json" or ".map" => "application/json",
        ".wasm" => "application/wasm",
        ".html" or ".htm" => "text/html; charset=utf-8",
        ".css" => "text/css; charset=utf-8",
        ".txt" or ".md" => "text/plain; charset=utf-8",
        ".csv" => "text/csv; charset=utf-8",
        ".xml" => "application/xml",
        ".svg" => "image/svg+xml",
        ".png" => "image/png",
        ".jpg" or ".jpeg" => "image/jpeg",
        ".gif" => "image/gif",
        ".webp" => "image/webp",
        ".ico" => "image/x-icon",
        ".woff" => "font/woff",
        ".woff2" => "font/woff2",
        ".ttf" => "font/ttf",
        _ => "application/octet-stream",
    };
}
