using System.Text;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.RepresentationModel;

namespace SpineProd.IO;

/// <summary>
/// Loads a YAML file SpineProd reads with YamlDotNet's representation model (profiles, pipelines)
/// as the config loader reads configs: a regular file of at most <see cref="SafeFile.YamlMaxBytes"/>
/// (<see cref="FileRefusedException"/> otherwise), and collections nested at most
/// <see cref="Config.Yaml11Reader.MaxDepth"/> deep. The representation model builds nodes
/// recursively, so a file of 100,000 '[' would overflow the stack: the nesting is checked first, on
/// the parser's events, which need no recursion.
/// </summary>
public static class SafeYaml
{
    /// <summary>Syntax and nesting errors are <see cref="YamlException"/>s with the line and column.</summary>
    public static YamlStream Load(string path)
    {
        // Not UTF-8 is read with replacement characters, as a StreamReader always read these files.
        var text = SafeFile.ReadAllText(path, SafeFile.YamlMaxBytes, new UTF8Encoding(false));
        CheckNesting(text);
        var yaml = new YamlStream();
        yaml.Load(new StringReader(text));
        return yaml;
    }

    private static void CheckNesting(string text)
    {
        var parser = new Parser(new StringReader(text));
        int depth = 0;
        while (parser.MoveNext())
        {
            switch (parser.Current)
            {
                case MappingStart or SequenceStart:
                    if (++depth > Config.Yaml11Reader.MaxDepth)
                        throw new YamlException(parser.Current.Start, parser.Current.End,
                            $"collections nested deeper than {Config.Yaml11Reader.MaxDepth} levels");
                    break;
                case MappingEnd or SequenceEnd:
                    depth--;
                    break;
            }
        }
    }
}
