using System.Text;
using System.Text.Json;
using LeanProxy.Cdp.Protocol;

namespace LeanProxy.Engine.Pages;

/// <summary>The page's console and uncaught errors, in the host's log, tagged with the app and tab (the console within
/// the app's <see cref="ConsoleBudget"/>).</summary>
internal sealed partial class CdpPage
{
    private void OnConsole(ConsoleApiCalledEvent e)
    {
        var allowed = _app.Console.TryTake(out var dropped);
        if (dropped > 0)
        {
            EngineLog.ConsoleDropped(_app.Logger, _app.Name, dropped, ConsoleBudget.LinesPerSecond);
        }

        if (!allowed)
        {
            return;
        }

        var text = new StringBuilder();
        foreach (var argument in e.Args)
        {
            if (text.Length > 0)
            {
                text.Append(' ');
            }

            text.Append(Describe(argument));
            if (text.Length > ConsoleBudget.MaxLineChars)
            {
                break;
            }
        }

        var line = ConsoleBudget.Cut(text.ToString());

        if (_app.Stats.IsTailed)
        {
            _app.Stats.Publish(new Metrics.TailLine(DateTimeOffset.UtcNow, _app.Name, e.Type is "warning" ? "console.warn" : "console." + e.Type, _tab.Index,
                line));
        }

        switch (e.Type)
        {
            case "error" or "assert":
                EngineLog.ConsoleError(_app.Logger, _app.Name, _tab.Index, e.Type, line);
                break;
            case "warning":
                EngineLog.ConsoleWarning(_app.Logger, _app.Name, _tab.Index, "warn", line);
                break;
            default:
                EngineLog.ConsoleInfo(_app.Logger, _app.Name, _tab.Index, e.Type, line);
                break;
        }
    }

    private void OnException(ExceptionThrownEvent e)
    {
        var details = e.ExceptionDetails;
        var text = details.Exception?.Description ?? details.Text;
        var location = string.IsNullOrEmpty(details.Url) ? string.Empty : $" ({_describeUrl(details.Url)}:{details.LineNumber + 1}:{details.ColumnNumber + 1})";
        EngineLog.PageException(_app.Logger, _app.Name, _tab.Index, text + location);
        if (_app.Stats.IsTailed)
        {
            _app.Stats.Publish(new Metrics.TailLine(DateTimeOffset.UtcNow, _app.Name, "error", _tab.Index, "uncaught: " + text + location));
        }
        LoadFailure.TrySetResult(new PageLoadStatus("error", Message: text, File: details.Url, Line: details.LineNumber + 1, Column: details.ColumnNumber + 1));
    }

    private static string Describe(RemoteObject value)
    {
        if (value.Value is { } json)
        {
            return json.ValueKind == JsonValueKind.String ? json.GetString()! : json.GetRawText();
        }

        return value.UnserializableValue ?? value.Description ?? value.Type;
    }
}
