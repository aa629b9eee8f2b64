using System.Text;
using System.Text.Json;
using LeanProxy.Cdp.Protocol;

namespace LeanProxy.Engine;

internal sealed partial class TabWorker
{
    private void OnConsole(ConsoleApiCalledEvent e)
    {
        var text = new StringBuilder();
        foreach (var argument in e.Args)
        {
            if (text.Length > 0)
            {
                text.Append(' ');
            }

            text.Append(Describe(argument));
        }

        var app = _pool.App.Name;
        switch (e.Type)
        {
            case "error" or "assert":
                EngineLog.ConsoleError(_logger, app, Index, e.Type, text.ToString());
                break;
            case "warning":
                EngineLog.ConsoleWarning(_logger, app, Index, "warn", text.ToString());
                break;
            default:
                EngineLog.ConsoleInfo(_logger, app, Index, e.Type, text.ToString());
                break;
        }
    }

    private void OnException(ExceptionThrownEvent e)
    {
        var details = e.ExceptionDetails;
        var text = details.Exception?.Description ?? details.Text;
        var location = string.IsNullOrEmpty(details.Url) ? string.Empty : $" ({_pool.LocalPath(details.Url)}:{details.LineNumber + 1}:{details.ColumnNumber + 1})";
        EngineLog.PageException(_logger, _pool.App.Name, Index, text + location);
        _loaded.TrySetResult(new ControlMessage("error", Message: text, File: details.Url, Line: details.LineNumber + 1, Column: details.ColumnNumber + 1));
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
